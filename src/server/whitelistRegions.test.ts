/**
 * `pinhole-server whitelist --regions FILE` (issue 14 item 5): with the regions file desktops get, the
 * rules name every proxy host of every region (several proxies per region share its ports), and the file
 * is checked against this proxy's own config.
 */
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { main, type CliIo } from './cli'
import type { ServerConfigInput } from './config'
import type { WhitelistReport } from './whitelist'

const dir = mkdtempSync(join(tmpdir(), 'pinhole-whitelist-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const PORTS = { udp: [3478, 7070], tcp: 443 }
const SH = { id: 'sh', name: 'Shanghai', proxyHosts: ['203.0.113.10', '203.0.113.11'], ports: PORTS }
const BJ = { id: 'bj', name: 'Beijing', proxyHost: '198.51.100.20', ports: PORTS }

let files = 0
function file(content: unknown): string {
  const path = join(dir, `file-${files++}.json`)
  writeFileSync(path, JSON.stringify(content))
  return path
}

function proxyConfig(proxy: Record<string, unknown> = {}): string {
  const config: ServerConfigInput = {
    apps: [{ appKey: 'app', secret: 'a-secret-of-16-chars' }],
    proxy: {
      region: 'sh',
      publicAddress: '203.0.113.11',
      turnSecret: 'turn-secret-16-chars',
      peers: { allow: ['10.20.0.0/24'] },
      signal: { upstream: 'wss://sfu.internal/v1/signal' },
      ...proxy,
    },
  }
  return file(config)
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    env: {},
    exit: vi.fn(),
    signals: new EventEmitter(),
  }
  const code = await main(argv, io)
  return { code, out, err }
}

describe('pinhole-server whitelist --regions', () => {
  it('prints the rules of every proxy host of every region, host by host', async () => {
    const { code, out } = await run(['whitelist', '--config', proxyConfig(), '--regions', file([SH, BJ])])
    expect(code).toBe(0)
    expect(out).not.toContain('WARNING')
    const rows = out.split('\n').filter((line) => /^(sh|bj) /.test(line))
    expect(rows.map((line) => line.split(/ {2,}/).slice(0, 4))).toEqual([
      ['sh', '203.0.113.10', 'UDP', '3478'],
      ['sh', '203.0.113.10', 'UDP', '7070'],
      ['sh', '203.0.113.10', 'TCP', '443'],
      ['sh', '203.0.113.11', 'UDP', '3478'],
      ['sh', '203.0.113.11', 'UDP', '7070'],
      ['sh', '203.0.113.11', 'TCP', '443'],
      ['bj', '198.51.100.20', 'UDP', '3478'],
      ['bj', '198.51.100.20', 'UDP', '7070'],
      ['bj', '198.51.100.20', 'TCP', '443'],
    ])
    // This proxy's own side (relay range, upstream) is still its config's.
    expect(out).toContain('sfu.internal')
  })

  it('--json carries the region of each rule', async () => {
    const { out } = await run(['whitelist', '--json', '--config', proxyConfig(), '--regions', file([SH])])
    const report = JSON.parse(out) as WhitelistReport
    expect(report.rules.map((r) => [r.region, r.destination, r.port])).toEqual([
      ['sh', '203.0.113.10', 3478],
      ['sh', '203.0.113.10', 7070],
      ['sh', '203.0.113.10', 443],
      ['sh', '203.0.113.11', 3478],
      ['sh', '203.0.113.11', 7070],
      ['sh', '203.0.113.11', 443],
    ])
  })

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'this proxy missing from its region',
      { publicAddress: '203.0.113.12' },
      /proxy.publicAddress 203.0.113.12 is not a host of region "sh" .*\(203.0.113.10, 203.0.113.11\)/,
    ],
    ['its region missing', { region: 'gz' }, /proxy.region "gz" is not in the regions file/],
    [
      'other ports than the region',
      { ports: { udp: [3478, 7070], tcp: 8443 } },
      /region "sh" lists UDP 3478, 7070 and TCP 443, this proxy listens on UDP 3478, 7070 and TCP 8443/,
    ],
  ])('warns when the regions file does not match this proxy: %s', async (_name, proxy, warning) => {
    const { code, out } = await run([
      'whitelist',
      '--config',
      proxyConfig(proxy),
      '--regions',
      file([SH, BJ]),
    ])
    expect(code).toBe(0)
    expect(out).toMatch(new RegExp(`^WARNING: ${warning.source}`, 'm'))
  })

  it('a bad regions file, or --regions on another command, is a usage error naming the problem', async () => {
    const twice = { ...SH, proxyHosts: ['203.0.113.10', '203.0.113.10'] }
    const bad = await run(['whitelist', '--config', proxyConfig(), '--regions', file([twice])])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/--regions .*: \[0\]\.proxyHosts\[1\]: 203.0.113.10 twice/)
    const other = await run(['check-config', '--config', proxyConfig(), '--regions', file([SH])])
    expect(other.code).toBe(2)
    expect(other.err).toContain('--regions applies to whitelist only')
  })
})
