/** Several proxies per region: the host order (pure, time injected) and the router walking it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  TransportType,
  type HostProbeResult,
  type ProxyConnectedInfo,
  type Region,
} from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { createEngine, type CallContext, type Route } from '..'
import { mintJoinToken } from '../../protocol/auth/joinToken'
import { createLogger } from '../../platform/logger'
import { ProxyMetrics, ProxyServer } from '../../proxy'
import { generateTestCert } from '../../../e2e/support/certs'
import { TEST_APP, testProxyConfig } from '../../../e2e/support/proxyConfig'
import { startProxyFixture, type ProxyFixture } from '../../../e2e/support/proxyFixture'
import { FailedHosts, planReroute, rankHosts, type RerouteInput } from './hostFailover'
import type { AllocateFn } from './pathSelect'
import type { RegionProber } from './regions'
import { allocateTurn } from './turnProbe'

const FAST_PROBE = { udpTimeoutMs: 300, udpRetransmitMs: 50, tlsTimeoutMs: 300, sessionTimeoutMs: 1000 }

const up = (host: string, rttMs: number): HostProbeResult => ({ host, reachable: true, rttMs })
const down = (host: string): HostProbeResult => ({ host, reachable: false })

describe('rankHosts', () => {
  it.each([
    ['lowest round trip first', [up('a', 9), up('b', 3), up('c', 5)], ['b', 'c', 'a']],
    ['ties keep the configured order', [up('a', 4), up('b', 4), up('c', 1)], ['c', 'a', 'b']],
    ['unreachable ones last, in configured order', [down('a'), up('b', 7), down('c')], ['b', 'a', 'c']],
    ['none reachable: the configured order', [down('a'), down('b')], ['a', 'b']],
    [
      'reachable without a round trip after the measured ones',
      [{ host: 'a', reachable: true }, up('b', 50)],
      ['b', 'a'],
    ],
  ])('%s', (_name, results, order) => {
    expect(rankHosts(results).map((r) => r.host)).toEqual(order)
  })
})

describe('FailedHosts', () => {
  it('passes a host over for the cooldown, per region, then lets it back', () => {
    const failed = new FailedHosts(60_000)
    failed.mark('sh', 'a', 1_000)
    expect(failed.cooling('sh', 'a', 1_000)).toBe(true)
    expect(failed.cooling('sh', 'a', 60_999)).toBe(true)
    expect(failed.cooling('sh', 'a', 61_000)).toBe(false)
    expect(failed.cooling('bj', 'a', 1_000)).toBe(false)
    expect(failed.cooling('sh', 'b', 1_000)).toBe(false)
  })
})

/** A plan at time `now` with hosts failed at the given times (region `sh`, limit 2). */
function plan(
  input: Partial<RerouteInput> & { failedAt?: Record<string, number> },
): ReturnType<typeof planReroute> {
  const failed = new FailedHosts(60_000)
  for (const [host, at] of Object.entries(input.failedAt ?? {})) failed.mark('sh', host, at)
  return planReroute({
    regionId: 'sh',
    order: ['a', 'b', 'c'],
    current: 'a',
    failures: 0,
    limit: 2,
    otherRegion: false,
    now: 100_000,
    ...input,
    failed,
  })
}

describe('planReroute: the current host, then the next hosts of the region, then another region', () => {
  it.each([
    // name, input, retryCurrent, next hosts, then another region
    ['a signaling loss: the current host again first', {}, true, ['b', 'c'], false],
    ['the order is the call’s, not the configuration’s', { order: ['c', 'a', 'b'] }, true, ['c', 'b'], false],
    ['from b: the others best first, a included', { current: 'b' }, true, ['a', 'c'], false],
    ['auto: other hosts before another region', { otherRegion: true }, true, ['b', 'c'], true],
    ['limit reached through a host that answers: passed over', { failures: 2 }, false, ['b', 'c'], false],
    ['a host failed 10 s ago is passed over', { failedAt: { b: 90_000 } }, true, ['c'], false],
    ['a host failed 60 s ago is back', { failedAt: { b: 40_000 } }, true, ['b', 'c'], false],
    [
      'every other host cooling, auto: another region',
      { failures: 2, otherRegion: true, failedAt: { b: 99_000, c: 99_000 } },
      false,
      [],
      true,
    ],
    [
      'every other host cooling, fixed region: keep trying the current one',
      { failures: 5, failedAt: { b: 99_000, c: 99_000 } },
      true,
      [],
      false,
    ],
    ['one host, fixed region: it, always', { order: ['a'], failures: 9 }, true, [], false],
    [
      'one host, auto with another region: moves at the limit',
      { order: ['a'], failures: 2, otherRegion: true },
      false,
      [],
      true,
    ],
    [
      'one host, auto: the host first below the limit',
      { order: ['a'], failures: 1, otherRegion: true },
      true,
      [],
      true,
    ],
  ] as const)('%s', (_name, input, retryCurrent, next, thenRegion) => {
    expect(plan(input as Partial<RerouteInput>)).toEqual({ retryCurrent, next, thenRegion })
  })

  it('two hosts whose signaling breaks in turn: a → b → another region, never back to a within the cooldown', () => {
    const failed = new FailedHosts(60_000)
    const base = { regionId: 'sh', order: ['a', 'b'], limit: 2, otherRegion: true, failed }
    // Through a: two failed attempts (it answers sessions) → passed over, marked, b next.
    const first = planReroute({ ...base, current: 'a', failures: 2, now: 10_000 })
    expect(first).toEqual({ retryCurrent: false, next: ['b'], thenRegion: true })
    failed.mark('sh', 'a', 10_000)
    // On b (the count starts again after the move): below the limit b is retried.
    expect(planReroute({ ...base, current: 'b', failures: 1, now: 15_000 }).retryCurrent).toBe(true)
    // b at the limit too: a is still cooling → another region.
    const second = planReroute({ ...base, current: 'b', failures: 2, now: 20_000 })
    expect(second).toEqual({ retryCurrent: false, next: [], thenRegion: true })
    // Minutes later (the call came back on b and b dies): a is a candidate again before another region.
    failed.mark('sh', 'b', 20_000)
    expect(planReroute({ ...base, current: 'b', failures: 0, now: 200_000 }).next).toEqual(['a'])
  })
})

describe('engine: a region of two proxy hosts (real proxies on 127.0.0.1 and 127.0.0.2, same ports)', () => {
  let sh: TwoHosts
  let bj: ProxyFixture
  /** TURN over TLS "broken" on these hosts: the session answers, the TURN probe allocation is refused. */
  const brokenTurn = new Set<string>()
  const allocate: AllocateFn = (target, credentials, options) =>
    brokenTurn.has(target.host)
      ? Promise.reject(new EngineError(ErrorCode.TurnAllocationRefused, `${target.host}: broken in the test`))
      : allocateTurn(target, credentials, options)
  beforeAll(async () => {
    sh = await startTwoHosts('sh')
    bj = await startProxyFixture('bj')
  })
  beforeEach(() => brokenTurn.clear())
  afterAll(async () => {
    await Promise.allSettled([sh.close(), bj.close()])
  })

  /** The probe ranks 127.0.0.2 first (it would be the nearer one); bj probes slower than sh. */
  const probeRegion: RegionProber = (r) => {
    const hosts = r.id === 'sh' ? [up('127.0.0.2', 2), up('127.0.0.1', 4)] : undefined
    return Promise.resolve({
      regionId: r.id,
      reachable: true,
      rttMs: r.id === 'sh' ? 2 : 50,
      checks: [],
      ...(hosts ? { hosts } : {}),
    })
  }

  function setup(choice: string): {
    contexts: CallContext[]
    proxyConnected: ProxyConnectedInfo[]
    probed: string[]
    engine: ReturnType<typeof createEngine>
  } {
    const contexts: CallContext[] = []
    const probed: string[] = []
    const engine = createEngine({
      regions: [sh.region, bj.region],
      probe: FAST_PROBE,
      probeRegion: (r, options) => (probed.push(r.id), probeRegion(r, options)),
      allocate,
      connectCall: (context) => {
        contexts.push(context)
        return Promise.resolve({ close: () => Promise.resolve() })
      },
    })
    engine.setCloudProxy(TransportType.TCPProxy)
    engine.setRegion(choice)
    const proxyConnected: ProxyConnectedInfo[] = []
    engine.on('proxyConnected', (info) => proxyConnected.push(info))
    return { contexts, proxyConnected, probed, engine }
  }
  const signal = new AbortController().signal
  const routeOf = (context: CallContext): Route => ({ proxy: context.proxy, transport: context.transport })
  const hostOf = (route: { proxy?: { region: { proxyHost: string } } | undefined }): string | undefined =>
    route.proxy?.region.proxyHost

  it('fixed region: the join probes the hosts and takes the best; its TURN breaks → the other host (moved)', async () => {
    const { contexts, proxyConnected, probed, engine } = setup('sh')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      expect(probed).toEqual(['sh'])
      expect([context.proxy?.region.id, hostOf(context)]).toEqual(['sh', '127.0.0.2'])
      expect(context.transport.target).toBe(`127.0.0.2:${sh.region.ports.tcp}`)
      context.report({ type: 'signalLost' })
      // The host still works: a fresh session on it, no move.
      const stay = await context.reroute!(routeOf(context), 0, signal)
      expect([stay.moved, hostOf(stay)]).toEqual([false, '127.0.0.2'])
      brokenTurn.add('127.0.0.2')
      const moved = await context.reroute!(routeOf(context), 0, signal)
      expect([moved.moved, moved.proxy?.region.id, hostOf(moved)]).toEqual([true, 'sh', '127.0.0.1'])
      expect(moved.transport.target).toBe(`127.0.0.1:${sh.region.ports.tcp}`)
      expect(proxyConnected.map((i) => [i.regionId, i.proxyAddress])).toEqual([
        ['sh', `127.0.0.2:${sh.region.ports.tcp}`],
        ['sh', `127.0.0.1:${sh.region.ports.tcp}`],
      ])
      // Both hosts broken: a fixed region never moves; the attempt fails.
      brokenTurn.add('127.0.0.1')
      await expect(context.reroute!(moved, 0, signal)).rejects.toMatchObject({
        code: ErrorCode.TurnAllocationRefused,
      })
    } finally {
      await engine.release()
    }
  })

  it('auto: the next host of the region before another region, then the other region', async () => {
    const { contexts, proxyConnected, engine } = setup('auto')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      expect(hostOf(context)).toBe('127.0.0.2')
      context.report({ type: 'signalLost' })
      // Two attempts failed through a host that still answers: the other host of sh, not bj.
      const onOther = await context.reroute!(routeOf(context), 2, signal)
      expect([onOther.moved, onOther.proxy?.region.id, hostOf(onOther)]).toEqual([true, 'sh', '127.0.0.1'])
      // The same through that one: 127.0.0.2 failed moments ago → bj.
      const onBj = await context.reroute!(onOther, 2, signal)
      expect([onBj.moved, onBj.proxy?.region.id]).toEqual([true, 'bj'])
      expect(proxyConnected.map((i) => i.regionId)).toEqual(['sh', 'sh', 'bj'])
    } finally {
      await engine.release()
    }
  })
})

interface TwoHosts {
  region: Region
  token(): Promise<string>
  close(): Promise<void>
}

/** Two proxies of one region: 127.0.0.1 and 127.0.0.2 on the same ports, one certificate, one TURN secret. */
async function startTwoHosts(id: string): Promise<TwoHosts> {
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-hosts-'))
  const cert = await generateTestCert({ ips: ['127.0.0.1', '127.0.0.2'] })
  writeFileSync(join(dir, 'cert.pem'), cert.certPem)
  writeFileSync(join(dir, 'key.pem'), cert.keyPem)
  const tls = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') }
  const start = (host: string, ports: { udp: number[]; tcp: number }): Promise<ProxyServer> =>
    ProxyServer.start(
      testProxyConfig({
        proxy: {
          publicAddress: host,
          listenHost: host,
          ports,
          relay: { listenHost: host, portRange: [40000, 49999] },
          tls,
        },
      }),
      { logger: createLogger('silent'), metrics: new ProxyMetrics({ defaultMetrics: false }) },
    )
  const first = await start('127.0.0.1', { udp: [0, 0], tcp: 0 })
  const { udp, tcp } = first.addresses()
  const second = await start('127.0.0.2', { udp: [udp[0]!, udp[1]!], tcp })
  return {
    region: {
      id,
      name: `Loopback ${id}`,
      proxyHost: '127.0.0.1',
      proxyHosts: ['127.0.0.1', '127.0.0.2'],
      ports: { udp: [udp[0]!, udp[1]!], tcp },
      tlsFingerprintSha256: first.tlsFingerprint,
    },
    token: () =>
      mintJoinToken({
        appKey: TEST_APP.appKey,
        secret: TEST_APP.secret,
        channel: 'room-1',
        uid: 42,
        ttlSeconds: 60,
      }),
    close: async () => {
      await Promise.allSettled([first.close(), second.close()])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
