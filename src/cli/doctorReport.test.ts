import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCTOR_TABLE_COLUMNS, wrapText } from '../engine'
import {
  silentTcp,
  startProxyFixture,
  type Listener,
  type ProxyFixture,
} from '../../e2e/support/proxyFixture'
import { ExitCode, processIo, type CliIo } from './io'
import { main } from './main'

/**
 * What `pinhole doctor` prints (issue 10 item 13), against a real proxy on loopback: the title of a region
 * given by flags, each rule once, a hint for an unpinned self-signed certificate, no line past the table's
 * width however long a detail (a fingerprint mismatch) is.
 */

const WRONG_PIN = Array.from({ length: 32 }, () => 'AB').join(':')
const FAST = { udpTimeoutMs: 300, udpRetransmitMs: 50, tlsTimeoutMs: 300, sessionTimeoutMs: 300 }

async function doctor(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = ''
  const io: CliIo = { ...processIo(), stdout: (text) => void (stdout += text), stderr: () => undefined }
  const code = await main(['doctor', ...argv], io, { doctor: { probe: FAST } })
  return { code, stdout }
}

describe('pinhole doctor output', () => {
  let proxy: ProxyFixture
  let quiet: Listener
  let flags: (over?: { tcp?: number; pin?: string }) => string[]

  beforeAll(async () => {
    ;[proxy, quiet] = await Promise.all([startProxyFixture(), silentTcp()])
    const { ports, tlsFingerprintSha256 } = proxy.region
    flags = (over = {}) => [
      '--proxy',
      '127.0.0.1',
      '--udp-ports',
      ports.udp.join(','),
      '--tcp-port',
      String(over.tcp ?? ports.tcp),
      ...(over.pin === '' ? [] : ['--fingerprint', over.pin ?? tlsFingerprintSha256!]),
    ]
  })
  afterAll(async () => {
    await Promise.all([proxy.close(), quiet.close()])
  })

  it('titles a region given by flags "Proxy HOST", and a named one with its id and name', async () => {
    const plain = await doctor(flags())
    expect(plain.code, plain.stdout).toBe(ExitCode.Ok)
    expect(plain.stdout.split('\n')[0]).toBe('Proxy 127.0.0.1')
    const named = await doctor([...flags(), '--region', 'fra', '--name', 'Frankfurt'])
    expect(named.stdout.split('\n')[0]).toBe('Region fra (Frankfurt), proxy 127.0.0.1')
  })

  it('lists the rule TLS and the session API share once', async () => {
    const { code, stdout } = await doctor(flags({ tcp: quiet.port }))
    expect(code).toBe(ExitCode.Blocked)
    const rule = `allow TCP from desktops to 127.0.0.1 port ${quiet.port}`
    expect(stdout).toContain(`Firewall rules to add:\n  ${rule}\n`)
    expect(stdout.split(rule)).toHaveLength(2)
  })

  it('without --fingerprint, a self-signed certificate gets a hint on how to pin it', async () => {
    const { code, stdout } = await doctor(flags({ pin: '' }))
    expect(code).toBe(ExitCode.Blocked)
    expect(stdout).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED/)
    expect(stdout).toContain("Hint: the proxy's certificate is not signed by a CA this computer trusts")
    expect(stdout).toMatch(/--fingerprint AB:CD:… \(its SHA-256\s+fingerprint/)
    expect(stdout).toMatch(/--ca FILE/)
    // With a pin the hint has nothing to add.
    expect((await doctor(flags({ pin: WRONG_PIN }))).stdout).not.toContain('Hint:')
  })

  it('keeps every line of a fingerprint mismatch within the table width, the fingerprints whole', async () => {
    const { code, stdout } = await doctor(flags({ pin: WRONG_PIN }))
    expect(code).toBe(ExitCode.Blocked)
    const lines = stdout.split('\n')
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(DOCTOR_TABLE_COLUMNS)
    // The wrapped detail, joined again, still carries both fingerprints.
    const joined = lines.map((line) => line.trim()).join('')
    expect(joined).toContain(WRONG_PIN)
    expect(joined).toContain(proxy.region.tlsFingerprintSha256!)
    expect(stdout).toContain('exempt 127.0.0.1 port')
  })
})

describe('wrapText', () => {
  it('breaks at spaces, a fingerprint after a colon, and anything else where it must', () => {
    expect(wrapText('a bb ccc', 4)).toEqual(['a bb', 'ccc'])
    expect(wrapText('x: AB:CD:EF:01', 8)).toEqual(['x: AB:', 'CD:EF:01'])
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij'])
    expect(wrapText('', 10)).toEqual([''])
    for (const line of wrapText(`10.0.0.1:443: expected ${WRONG_PIN}, got ${WRONG_PIN}`, 40))
      expect(line.length).toBeLessThanOrEqual(40)
  })
})
