/** Region failover: the selection over the other regions, and the engine's CallContext.reroute hook. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  type ProxyConnectedInfo,
  type Region,
  type RegionProbeResult,
} from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { createEngine, type CallContext, type ConnectCall, type Route } from '..'
import { routeChanged } from './proxyRouter'
import { pickFailoverRegion, type RegionProber } from './regions'
import { startProxyFixture, type ProxyFixture } from '../../../e2e/support/proxyFixture'
import type { AllocateFn } from './pathSelect'
import { allocateTurn } from './turnProbe'

const FAST_PROBE = { udpTimeoutMs: 300, udpRetransmitMs: 50, tlsTimeoutMs: 300, sessionTimeoutMs: 1000 }

function region(id: string): Region {
  return {
    id,
    name: id,
    proxyHost: '127.0.0.1',
    ports: { udp: [3478, 7070], tcp: 443 },
    tlsFingerprintSha256: Array(32).fill('AB').join(':'),
  }
}

/** Fake probes: rtt by region id, undefined = unreachable; records what was probed. */
function prober(rtts: Record<string, number | undefined>, probed: string[]): RegionProber {
  return (r) => {
    probed.push(r.id)
    const rttMs = rtts[r.id]
    const result: RegionProbeResult =
      rttMs === undefined
        ? { regionId: r.id, reachable: false, checks: [] }
        : { regionId: r.id, reachable: true, rttMs, checks: [] }
    return Promise.resolve(result)
  }
}

describe('pickFailoverRegion', () => {
  const regions = [region('sh'), region('bj'), region('gz')]

  it('probes only the other regions and takes the best of them', async () => {
    const probed: string[] = []
    const seen: string[] = []
    const pick = await pickFailoverRegion(regions, 'sh', {
      probe: prober({ sh: 1, bj: 30, gz: 20 }, probed),
      onProbe: (result) => seen.push(result.regionId),
    })
    expect(pick.region.id).toBe('gz')
    expect(probed.sort()).toEqual(['bj', 'gz'])
    expect(seen.sort()).toEqual(['bj', 'gz'])
  })

  it('skips unreachable ones; none reachable or no other region: NoRegionReachable', async () => {
    const probe = prober({ bj: undefined, gz: 5 }, [])
    expect((await pickFailoverRegion(regions, 'sh', { probe })).region.id).toBe('gz')
    const none = prober({}, [])
    await expect(pickFailoverRegion(regions, 'sh', { probe: none })).rejects.toMatchObject({
      code: ErrorCode.NoRegionReachable,
    })
    await expect(pickFailoverRegion([region('sh')], 'sh', { probe: none })).rejects.toBeInstanceOf(
      EngineError,
    )
  })
})

describe('engine: CallContext.reroute', () => {
  let sh: ProxyFixture
  let bj: ProxyFixture
  /** TURN over TLS "broken" on these TCP ports: the session answers, the TURN probe allocation is refused. */
  const brokenTurn = new Set<number>()
  const allocate: AllocateFn = (target, credentials, options) =>
    brokenTurn.has(target.port)
      ? Promise.reject(new EngineError(ErrorCode.TurnAllocationRefused, `${target.port}: broken in the test`))
      : allocateTurn(target, credentials, options)
  beforeAll(async () => {
    sh = await startProxyFixture('sh')
    bj = await startProxyFixture('bj')
  })
  beforeEach(() => brokenTurn.clear())
  afterAll(async () => {
    await Promise.allSettled([sh.close(), bj.close()])
  })

  function setup(choice: string): {
    contexts: CallContext[]
    states: [S, R][]
    proxyConnected: ProxyConnectedInfo[]
    engine: ReturnType<typeof createEngine>
  } {
    const contexts: CallContext[] = []
    const connectCall: ConnectCall = (context) => {
      contexts.push(context)
      return Promise.resolve({ close: () => Promise.resolve() })
    }
    // bj probes slower: the first pick is sh.
    const probeRegion: RegionProber = (r) =>
      Promise.resolve({ regionId: r.id, reachable: true, rttMs: r.id === 'sh' ? 1 : 50, checks: [] })
    const engine = createEngine({
      regions: [sh.region, bj.region],
      probe: FAST_PROBE,
      probeRegion,
      connectCall,
      allocate,
    })
    engine.setCloudProxy(TransportType.TCPProxy)
    engine.setRegion(choice)
    const states: [S, R][] = []
    const proxyConnected: ProxyConnectedInfo[] = []
    engine.on('connectionStateChanged', (state, reason) => states.push([state, reason]))
    engine.on('proxyConnected', (info) => proxyConnected.push(info))
    return { contexts, states, proxyConnected, engine }
  }

  const signal = new AbortController().signal
  const routeOf = (context: CallContext): Route => ({ proxy: context.proxy, transport: context.transport })

  it('fixed region: a fresh session on the same region, never another region', async () => {
    const { contexts, proxyConnected, engine } = setup('sh')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      context.report({ type: 'signalLost' })
      const next = await context.reroute!(routeOf(context), 0, signal)
      expect(next.moved).toBe(false)
      expect(next.proxy?.region.id).toBe('sh')
      // A new session request: fresh TURN credentials (the old ones may have expired).
      expect(next.proxy?.session).not.toBe(context.proxy?.session)
      expect(next.transport.turn?.username).toMatch(/^\d+:test-app:42$/)
      expect(proxyConnected).toHaveLength(1)
      // Broken TURN or many failures: a fixed region stays (the attempt fails; the budget decides).
      brokenTurn.add(sh.region.ports.tcp)
      await expect(context.reroute!(routeOf(context), 5, signal)).rejects.toMatchObject({
        code: ErrorCode.TurnAllocationRefused,
      })
    } finally {
      await engine.release()
    }
  })

  it('auto: stays while session and TURN work; TURN broken on sh → bj, Connected (reDispatch)', async () => {
    const { contexts, states, proxyConnected, engine } = setup('auto')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      expect(context.proxy?.region.id).toBe('sh')
      context.report({ type: 'signalLost' })
      const stay = await context.reroute!(routeOf(context), 1, signal)
      expect([stay.moved, stay.proxy?.region.id]).toEqual([false, 'sh'])
      expect(proxyConnected.map((i) => i.regionId)).toEqual(['sh'])
      // sh still answers session requests, but its TURN refuses: that is no route either.
      brokenTurn.add(sh.region.ports.tcp)
      const moved = await context.reroute!(routeOf(context), 1, signal)
      expect(moved.moved).toBe(true)
      expect(moved.proxy?.region.id).toBe('bj')
      expect(moved.transport.transport).toBe('tls')
      expect(moved.transport.target).toBe(`127.0.0.1:${bj.region.ports.tcp}`)
      expect(proxyConnected.map((i) => i.regionId)).toEqual(['sh', 'bj'])
      context.report({ type: 'rejoined', reDispatched: true })
      expect(states.slice(3)).toEqual([
        [S.Reconnecting, R.SignalDisconnected],
        [S.Reconnecting, R.SettingProxyServer],
        [S.Connected, R.ReDispatch],
      ])
    } finally {
      await engine.release()
    }
  })

  it('auto: attempts keep failing through a proxy that answers (signaling broken) → bj after 2', async () => {
    const { contexts, proxyConnected, engine } = setup('auto')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      context.report({ type: 'signalLost' })
      expect((await context.reroute!(routeOf(context), 1, signal)).moved).toBe(false)
      const moved = await context.reroute!(routeOf(context), 2, signal)
      expect([moved.moved, moved.proxy?.region.id]).toEqual([true, 'bj'])
      expect(proxyConnected.map((i) => i.regionId)).toEqual(['sh', 'bj'])
    } finally {
      await engine.release()
    }
  })

  it('auto with one region whose proxy stopped: the reroute says the proxy is not running, not 30103', async () => {
    const solo = await startProxyFixture('solo')
    const contexts: CallContext[] = []
    const engine = createEngine({
      regions: [solo.region],
      probe: FAST_PROBE,
      connectCall: (context) => {
        contexts.push(context)
        return Promise.resolve({ close: () => Promise.resolve() })
      },
    })
    try {
      engine.setCloudProxy(TransportType.TCPProxy)
      engine.setRegion('auto')
      expect(await engine.joinChannel(await solo.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      context.report({ type: 'signalLost' })
      await solo.close()
      // Its TCP port now answers RST: no region to move to, and no firewall rule is missing.
      await expect(context.reroute!(routeOf(context), 0, signal)).rejects.toMatchObject({
        code: ErrorCode.ProxyNotRunning,
      })
    } finally {
      await engine.release()
      await solo.close()
    }
  })

  it('auto with one region: after failed attempts the reroute tries that region again (nowhere to fail over to)', async () => {
    const solo = await startProxyFixture('solo')
    const contexts: CallContext[] = []
    const engine = createEngine({
      regions: [solo.region],
      probe: FAST_PROBE,
      connectCall: (context) => {
        contexts.push(context)
        return Promise.resolve({ close: () => Promise.resolve() })
      },
    })
    try {
      engine.setCloudProxy(TransportType.TCPProxy)
      engine.setRegion('auto')
      expect(await engine.joinChannel(await solo.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      context.report({ type: 'signalLost' })
      // Attempts 2, 3, 10 (the signaling was down for a while, the proxy answers): still the one region.
      for (const failures of [2, 3, 10]) {
        const route = await context.reroute!(routeOf(context), failures, signal)
        expect([route.moved, route.proxy?.region.id]).toEqual([false, 'solo'])
      }
    } finally {
      await engine.release()
      await solo.close()
    }
  })

  it('failback: no move back while bj works; bj broken → back to sh; the next join probes all again', async () => {
    const { contexts, proxyConnected, engine } = setup('auto')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      context.report({ type: 'signalLost' })
      brokenTurn.add(sh.region.ports.tcp)
      const onBj = await context.reroute!(routeOf(context), 0, signal)
      expect(onBj.proxy?.region.id).toBe('bj')
      context.report({ type: 'rejoined', reDispatched: true })
      // sh works again and probes faster; a call on bj stays there while bj carries it.
      brokenTurn.clear()
      context.report({ type: 'signalLost' })
      const stay = await context.reroute!(onBj, 0, signal)
      expect([stay.moved, stay.proxy?.region.id]).toEqual([false, 'bj'])
      // bj breaks: the failover picks among the others, sh included again.
      brokenTurn.add(bj.region.ports.tcp)
      const back = await context.reroute!(onBj, 0, signal)
      expect([back.moved, back.proxy?.region.id]).toEqual([true, 'sh'])
      expect(proxyConnected.map((i) => i.regionId)).toEqual(['sh', 'bj', 'sh'])
      context.report({ type: 'rejoined', reDispatched: true })
      // A new join re-probes every region (`auto` is read at each join).
      brokenTurn.clear()
      expect(await engine.leaveChannel()).toBe(0)
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      expect(contexts[1]!.proxy?.region.id).toBe('sh')
    } finally {
      await engine.release()
    }
  })

  it('auto: no other region answers → the reroute rejects (a failed attempt)', async () => {
    const { contexts, engine } = setup('auto')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      context.report({ type: 'signalLost' })
      brokenTurn.add(sh.region.ports.tcp)
      brokenTurn.add(bj.region.ports.tcp)
      await expect(context.reroute!(routeOf(context), 0, signal)).rejects.toBeInstanceOf(EngineError)
    } finally {
      await engine.release()
    }
  })

  it('auto: sh stops answering session requests → bj', async () => {
    const { contexts, proxyConnected, engine } = setup('auto')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      context.report({ type: 'signalLost' })
      await sh.close()
      const moved = await context.reroute!(routeOf(context), 0, signal)
      expect([moved.moved, moved.proxy?.region.id]).toEqual([true, 'bj'])
      expect(proxyConnected.map((i) => i.regionId)).toEqual(['sh', 'bj'])
    } finally {
      await engine.release()
    }
  })
})

describe('routeChanged (what proxyConnected reports on a reroute)', () => {
  const route = (regionId: string, transport: 'udp' | 'tls', port: number): Route =>
    ({
      proxy: { region: region(regionId) },
      transport: { transport, target: `127.0.0.1:${port}` },
    }) as unknown as Route
  it.each([
    ['the other UDP port won the race', route('sh', 'udp', 3478), route('sh', 'udp', 7070), false],
    ['another transport', route('sh', 'udp', 3478), route('sh', 'tls', 443), true],
    ['another region', route('sh', 'udp', 3478), route('bj', 'udp', 3478), true],
  ])('%s', (_name, before, after, changed) => {
    expect(routeChanged(before, after)).toBe(changed)
  })
})
