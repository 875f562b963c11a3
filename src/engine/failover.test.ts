/** Region failover: the selection over the other regions, and the engine's CallContext.failover hook. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  type ProxyConnectedInfo,
  type Region,
  type RegionProbeResult,
} from '../shared/engine'
import { EngineError, ErrorCode } from '../shared/errors'
import { createEngine, type CallContext, type ConnectCall } from './engine'
import { pickFailoverRegion, type RegionProber } from './regions'
import { startProxyFixture, type ProxyFixture } from './testing/proxyFixture'

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

describe('engine: CallContext.failover', () => {
  let sh: ProxyFixture
  let bj: ProxyFixture
  beforeAll(async () => {
    sh = await startProxyFixture('sh')
    bj = await startProxyFixture('bj')
  })
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
    })
    engine.setCloudProxy(TransportType.TCPProxy)
    engine.setRegion(choice)
    const states: [S, R][] = []
    const proxyConnected: ProxyConnectedInfo[] = []
    engine.on('connectionStateChanged', (state, reason) => states.push([state, reason]))
    engine.on('proxyConnected', (info) => proxyConnected.push(info))
    return { contexts, states, proxyConnected, engine }
  }

  it('fixed region: no failover hook (the rejoin stays on that region)', async () => {
    const { contexts, engine } = setup('sh')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      expect(contexts[0]!.failover).toBeUndefined()
    } finally {
      await engine.release()
    }
  })

  it('auto: stays while the proxy answers; moves to bj once sh stops answering; Connected (reDispatch)', async () => {
    const { contexts, states, proxyConnected, engine } = setup('auto')
    try {
      expect(await engine.joinChannel(await sh.token(), 'room-1', 42)).toBe(0)
      const context = contexts[0]!
      expect(context.proxy?.region.id).toBe('sh')
      const signal = new AbortController().signal
      context.report({ type: 'signalLost' })
      expect(await context.failover!(context.proxy!, signal)).toBeUndefined()
      await sh.close()
      const moved = await context.failover!(context.proxy!, signal)
      expect(moved?.proxy?.region.id).toBe('bj')
      expect(moved?.transport.transport).toBe('tls')
      expect(moved?.transport.target).toBe(`127.0.0.1:${bj.region.ports.tcp}`)
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
})
