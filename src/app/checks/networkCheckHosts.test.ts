/**
 * A region with several proxy hosts in the checks IT reads (issue 14 item 5): `pinhole doctor` and the
 * app's Network check probe every host of the region with real sockets — here a real proxy on 127.0.0.1
 * and nothing on 127.0.0.2's same ports — and each host's rows, rules and notes name that host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventEmitter } from 'node:events'
import { formatDoctorTable, runDoctor } from '../../engine'
import { startProxyFixture, type ProxyFixture } from '../../../e2e/support/proxyFixture'
import type { Region } from '../../shared/engine'
import { doctorCommand } from '../../cli/doctor'
import type { CliIo } from '../../cli/io'
import { runNetworkCheck } from './networkCheck'

/** Every port here answers or refuses at once: the timeouts only bound a loaded machine's slowness. */
const FAST_PROBE = { udpTimeoutMs: 3000, udpRetransmitMs: 100, tlsTimeoutMs: 3000, sessionTimeoutMs: 3000 }

let proxy: ProxyFixture
let region: Region
beforeAll(async () => {
  proxy = await startProxyFixture('sh')
  // The second host of the region: the same ports on another loopback address, where nothing listens.
  region = { ...proxy.region, proxyHost: '127.0.0.1', proxyHosts: ['127.0.0.1', '127.0.0.2'] }
})
afterAll(() => proxy?.close())

const hostOf = (target: string): string => target.slice(0, target.lastIndexOf(':'))

describe('several proxy hosts in the doctor and the Network check', () => {
  it('the doctor checks each host: the running one answers, the other is refused, each named', async () => {
    const rows = await runDoctor(region, FAST_PROBE)
    expect(rows.map((row) => [hostOf(row.target), row.endpoint, row.status])).toEqual([
      ['127.0.0.1', 'udp', 'reachable'],
      ['127.0.0.1', 'udpAlt', 'reachable'],
      ['127.0.0.1', 'tls', 'reachable'],
      ['127.0.0.1', 'session', 'reachable'],
      ['127.0.0.2', 'udp', 'refused'],
      ['127.0.0.2', 'udpAlt', 'refused'],
      ['127.0.0.2', 'tls', 'refused'],
      ['127.0.0.2', 'session', 'refused'],
    ])
    const table = formatDoctorTable(rows)
    expect(table).toContain(`127.0.0.2:${region.ports.tcp}`)
    // The note names the host that is not running, not the region's first host.
    expect(table).toMatch(/127\.0\.0\.2 refused UDP .*nothing listens there/s)
    expect(table).not.toMatch(/127\.0\.0\.1 refused/)
  })

  it('the Network check lists both hosts of the region and says which one is not running', async () => {
    const report = await runNetworkCheck([region], { probe: FAST_PROBE })
    const [checked] = report.regions
    expect(checked?.proxyHosts).toEqual(['127.0.0.1', '127.0.0.2'])
    expect(new Set(checked?.rows.map((row) => hostOf(row.target)))).toEqual(
      new Set(['127.0.0.1', '127.0.0.2']),
    )
    expect(checked?.ok).toBe(false)
    expect(report.summary).toContain(`(127.0.0.2:${region.ports.udp[0]}) refused`)
    expect(report.summary).toMatch(/127\.0\.0\.2 refused UDP/)
    expect(report.summary).not.toMatch(/127\.0\.0\.1 refused/)
  })

  it('pinhole doctor --regions FILE with proxyHosts: one table titled with both proxies', async () => {
    let out = ''
    const io: CliIo = {
      stdout: (text) => void (out += text),
      stderr: (text) => void (out += text),
      readFile: () => JSON.stringify([{ ...region, proxyHost: undefined }]),
      signals: new EventEmitter(),
      exit: () => undefined,
      now: () => 0,
    }
    const code = await doctorCommand(['--regions', 'regions.json'], io, { probe: FAST_PROBE })
    expect(code).toBe(3)
    expect(out).toContain('Region sh (Loopback sh), proxies 127.0.0.1, 127.0.0.2')
    expect(out).toContain(`127.0.0.2:${region.ports.udp[1]}`)
  })
})
