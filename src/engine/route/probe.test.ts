/** Probes, region choice and the doctor against a real proxy on loopback, with closed and silent ports. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Region, RegionProbeResult } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { formatDoctorTable, runDoctor } from './doctor'
import { probeRegion, probeSessionApi, probeTls, probeUdp } from './probe'
import { bestRegion, parseRegions, pickRegion } from './regions'
import {
  closedTcpPort,
  closedUdpPort,
  silentTcp,
  silentUdp,
  startProxyFixture,
  type Listener,
  type ProxyFixture,
} from '../../../e2e/support/proxyFixture'

const WRONG_PIN = Array.from({ length: 32 }, () => 'AB').join(':')
const FAST = { udpTimeoutMs: 400, udpRetransmitMs: 50, tlsTimeoutMs: 400, sessionTimeoutMs: 400 }

describe('probes against a real proxy', () => {
  let proxy: ProxyFixture
  let closedUdp: number
  let closedTcp: number
  let quietUdp: Listener
  let quietTcp: Listener

  beforeAll(async () => {
    proxy = await startProxyFixture()
    ;[closedUdp, closedTcp, quietUdp, quietTcp] = await Promise.all([
      closedUdpPort(),
      closedTcpPort(),
      silentUdp(),
      silentTcp(),
    ])
  })
  afterAll(async () => {
    await Promise.all([proxy.close(), quietUdp.close(), quietTcp.close()])
  })

  it('STUN Binding answers on both UDP ports with a round trip', async () => {
    const [a, b] = await Promise.all(
      proxy.region.ports.udp.map((port, i) => probeUdp('127.0.0.1', port, i === 0 ? 'udp' : 'udpAlt', FAST)),
    )
    for (const check of [a!, b!]) {
      expect(check.status).toBe('reachable')
      expect(check.rttMs).toBeGreaterThan(0)
      expect(check.rttMs).toBeLessThan(300)
    }
    expect(a!.check).toBe(`UDP ${proxy.region.ports.udp[0]}`)
  })

  it('a closed UDP port is refused at once (ICMP port unreachable), not blocked', async () => {
    const started = performance.now()
    const check = await probeUdp('127.0.0.1', closedUdp, 'udpAlt', FAST)
    expect(check).toMatchObject({ status: 'refused', errorCode: ErrorCode.ProxyNotRunning })
    expect(check.detail).toMatch(/port closed/)
    // Well under the 400 ms timeout: the ICMP answer, not the timer, ended it.
    expect(performance.now() - started).toBeLessThan(350)
  })

  it('a silent UDP port is blocked at the timeout, after retransmissions', async () => {
    const check = await probeUdp('127.0.0.1', quietUdp.port, 'udp', FAST)
    expect(check).toMatchObject({ status: 'blocked', errorCode: ErrorCode.ProxyUdpUnreachable })
    expect(check.detail).toMatch(/no answer to \d+ STUN Binding requests in 400 ms/)
    // Sent at 0, 50, 150, 350 ms (the last may miss the deadline on a loaded machine).
    expect(quietUdp.count()).toBeGreaterThanOrEqual(3)
    expect(quietUdp.count()).toBeLessThanOrEqual(4)
  })

  it('TLS with the pinned fingerprint, or with the certificate as CA, is reachable', async () => {
    const pinned = await probeTls(proxy.region, FAST)
    expect(pinned.status).toBe('reachable')
    expect(pinned.rttMs).toBeLessThan(300)
    const byCa = await probeTls(
      { ...proxy.region, tlsFingerprintSha256: undefined, caPem: proxy.server.tlsCertificatePem },
      FAST,
    )
    expect(byCa.status).toBe('reachable')
  })

  it.each([
    [
      'a fingerprint mismatch',
      { tlsFingerprintSha256: WRONG_PIN },
      'error',
      ErrorCode.TlsFingerprintMismatch,
    ],
    [
      'no pin and no CA (system CAs)',
      { tlsFingerprintSha256: undefined },
      'error',
      ErrorCode.TlsCertificateUntrusted,
    ],
  ] as const)('TLS with %s is an error, not "blocked"', async (_name, change, status, code) => {
    const check = await probeTls({ ...proxy.region, ...change }, FAST)
    expect(check).toMatchObject({ status, errorCode: code })
  })

  it.each([
    ['refused', () => closedTcp, 'refused', ErrorCode.ProxyNotRunning, /connection refused \(ECONNREFUSED\)/],
    ['silent', () => quietTcp.port, 'blocked', ErrorCode.ProxyTlsUnreachable, /no TLS handshake in 400 ms/],
  ] as const)('TLS to a %s TCP port is %s', async (_name, port, status, errorCode, detail) => {
    const check = await probeTls({ ...proxy.region, ports: { ...proxy.region.ports, tcp: port() } }, FAST)
    expect(check).toMatchObject({ status, errorCode })
    expect(check.detail).toMatch(detail)
  })

  it('a name that does not resolve is unresolved on every probe, and nothing throws', async () => {
    const region: Region = { ...proxy.region, proxyHost: 'nonexistent.invalid' }
    const checks = await Promise.all([
      probeUdp(region.proxyHost, 3478, 'udp', FAST),
      probeTls(region, FAST),
      probeSessionApi(region, FAST),
    ])
    for (const check of checks) {
      expect(check).toMatchObject({ status: 'unresolved', errorCode: ErrorCode.ProxyHostUnresolved })
      expect(check.detail).toMatch(/nonexistent\.invalid.*(ENOTFOUND|EAI_AGAIN)/)
    }
  })

  it('the session API answers an empty request with its 401 error format', async () => {
    const check = await probeSessionApi(proxy.region, FAST)
    expect(check.status).toBe('reachable')
    expect(check.detail).toMatch(/401 token_missing/)
  })

  it('pickRegion(auto) takes the reachable region and emits a probe result per region', async () => {
    const dead: Region = {
      ...proxy.region,
      id: 'dead',
      name: 'Dead',
      ports: { udp: [closedUdp, closedUdp], tcp: closedTcp },
    }
    const seen: RegionProbeResult[] = []
    const pick = await pickRegion([dead, proxy.region], 'auto', { ...FAST, onProbe: (r) => seen.push(r) })
    expect(pick.region.id).toBe('test')
    expect(seen.map((r) => [r.regionId, r.reachable]).sort()).toEqual([
      ['dead', false],
      ['test', true],
    ])
    const live = seen.find((r) => r.regionId === 'test')!
    expect(live.checks.map((c) => c.status)).toEqual(['reachable', 'reachable', 'reachable'])
    // Every region refused: no firewall rule is missing, the proxy is not running there.
    await expect(pickRegion([dead], 'auto', FAST)).rejects.toMatchObject({
      code: ErrorCode.ProxyNotRunning,
    })
    const unnamed: Region = { ...dead, id: 'unnamed', proxyHost: 'nonexistent.invalid' }
    await expect(pickRegion([unnamed], 'auto', FAST)).rejects.toMatchObject({
      code: ErrorCode.ProxyHostUnresolved,
    })
    // One of them silent (dropped): that one may need a firewall rule.
    const silent: Region = { ...dead, id: 'silent', ports: { ...dead.ports, tcp: quietTcp.port } }
    await expect(pickRegion([dead, silent], 'auto', FAST)).rejects.toMatchObject({
      code: ErrorCode.NoRegionReachable,
    })
  })

  it('the doctor names the exact rule for the blocked (silent) port', async () => {
    const region: Region = {
      ...proxy.region,
      ports: { ...proxy.region.ports, udp: [proxy.region.ports.udp[0], quietUdp.port] },
    }
    const rows = await runDoctor(region, FAST)
    expect(rows.map((r) => [r.endpoint, r.status])).toEqual([
      ['udp', 'reachable'],
      ['udpAlt', 'blocked'],
      ['tls', 'reachable'],
      ['session', 'reachable'],
    ])
    expect(rows[1]!.rule).toBe(`allow UDP from desktops to 127.0.0.1 port ${quietUdp.port}`)
    expect(rows.filter((r) => r.rule !== undefined)).toHaveLength(1)
    const table = formatDoctorTable(rows)
    expect(table.split('\n')[0]).toMatch(/^check\s+target\s+status\s+rtt\s+detail$/)
    expect(table).toContain(`UDP ${quietUdp.port}`)
    expect(table).toContain(
      `Firewall rules to add:\n  allow UDP from desktops to 127.0.0.1 port ${quietUdp.port}`,
    )
    expect(table).not.toContain('Not a firewall problem')
  })

  it('the doctor gives no firewall rule for refused ports: the proxy is not running there', async () => {
    const rows = await runDoctor(
      { ...proxy.region, ports: { udp: [closedUdp, closedUdp], tcp: closedTcp } },
      FAST,
    )
    expect(rows.map((r) => [r.status, r.errorCode, r.rule])).toEqual(
      Array.from({ length: 4 }, () => ['refused', ErrorCode.ProxyNotRunning, undefined]),
    )
    const table = formatDoctorTable(rows)
    expect(table).not.toContain('Firewall rules to add')
    expect(table).toMatch(
      /Not a firewall problem:\n {2}127\.0\.0\.1 refused UDP \d+, UDP \d+, TLS \d+, Session/,
    )
    expect(table).toMatch(/contact whoever\s+runs the proxy/)
  })

  it('the doctor reports TCP blocked and TLS interception with their rules, each rule once', async () => {
    const blocked = await runDoctor(
      { ...proxy.region, ports: { ...proxy.region.ports, tcp: quietTcp.port } },
      FAST,
    )
    const rule = `allow TCP from desktops to 127.0.0.1 port ${quietTcp.port}`
    expect(blocked.map((r) => r.rule ?? null)).toEqual([null, null, rule, rule])
    // TLS and the session API share the port: the rule is listed once.
    expect(formatDoctorTable(blocked).split(rule)).toHaveLength(2)
    const intercepted = await runDoctor({ ...proxy.region, tlsFingerprintSha256: WRONG_PIN }, FAST)
    expect(intercepted[2]).toMatchObject({
      status: 'error',
      rule: `exempt 127.0.0.1 port ${proxy.region.ports.tcp} from TLS inspection`,
    })
  })
})

describe('region choice without the network', () => {
  const result = (regionId: string, reachable: boolean, rttMs?: number): RegionProbeResult => ({
    regionId,
    reachable,
    checks: [],
    ...(rttMs === undefined ? {} : { rttMs }),
  })

  it('takes the lowest RTT among reachable regions, configuration order on ties', () => {
    expect(bestRegion([result('a', true, 30), result('b', true, 12), result('c', false, 1)])?.regionId).toBe(
      'b',
    )
    expect(bestRegion([result('a', true, 5), result('b', true, 5)])?.regionId).toBe('a')
    expect(bestRegion([result('a', false)])).toBeUndefined()
  })

  it('picks a named region without probing; an unknown name is RegionUnknown', async () => {
    const regions = parseRegions([
      { id: 'sh', name: 'Shanghai', proxyHost: '203.0.113.10', ports: { udp: [3478, 7070], tcp: 443 } },
    ])
    const probe = (): Promise<RegionProbeResult> => Promise.reject(new Error('must not probe'))
    expect((await pickRegion(regions, 'sh', { probe })).region.id).toBe('sh')
    await expect(pickRegion(regions, 'bj', { probe })).rejects.toThrow(EngineError)
    await expect(pickRegion([], 'auto', { probe })).rejects.toMatchObject({ code: ErrorCode.NoRegions })
  })

  it('rejects duplicate and reserved region ids', () => {
    const region = { id: 'x', name: 'X', proxyHost: 'h', ports: { udp: [1, 2], tcp: 3 } }
    expect(() => parseRegions([region, region])).toThrow(/duplicate/)
    expect(() => parseRegions([{ ...region, id: 'auto' }])).toThrow(/reserved/)
    expect(() => parseRegions([{ ...region, ports: { udp: [1], tcp: 3 } }])).toThrow()
  })

  it('probeRegion skips UDP when asked (TCP proxy mode)', async () => {
    const closed = await closedTcpPort()
    const region: Region = { id: 'r', name: 'R', proxyHost: '127.0.0.1', ports: { udp: [1, 2], tcp: closed } }
    const probed = await probeRegion(region, { udp: false, ...FAST })
    expect(probed.checks.map((c) => c.endpoint)).toEqual(['tls'])
    expect(probed.reachable).toBe(false)
  })
})
