import { describe, expect, it } from 'vitest'
import {
  TransportType,
  type EngineEvents,
  type NetworkQuality,
  type RemoteVideoStats,
  type RtcStats,
} from '../../shared/engine'
import { silentLogger } from '../defaults'
import { CallStats } from './callStats'
import type { PeerStatsSample } from '../stats/stats'
import { FakeClock } from '../../../e2e/support/fakeClock'
import type { TransportSelection } from '../route/pathSelect'

const transport = (kind: 'udp' | 'direct'): TransportSelection => ({
  mode: kind === 'udp' ? TransportType.UDPProxy : TransportType.None,
  transport: kind,
  target: kind === 'udp' ? '10.1.1.1:3478' : 'ws://server/v1/signal',
  signalUrl: 'wss://10.1.1.1:443/v1/signal',
  rtcConfig: {},
  elapsedMs: 0,
  attempts: [],
  released: Promise.resolve(),
})

function setup(
  kind: 'udp' | 'direct',
  peer?: PeerStatsSample,
  current?: () => TransportSelection,
  remoteVideoUids: number[] = [],
) {
  const clock = new FakeClock()
  const stats: RtcStats[] = []
  const quality: [number, NetworkQuality, NetworkQuality][] = []
  const remote: RemoteVideoStats[][] = []
  let condition: 'up' | 'down' | 'off' = 'up'
  const callStats = new CallStats({
    context: { clock, transport: transport(kind), uid: 7, logger: silentLogger },
    ...(current ? { transport: current } : {}),
    media: () =>
      peer
        ? {
            isConnected: true,
            peerStats: () => Promise.resolve(peer),
            remoteVideoUids: () => remoteVideoUids,
          }
        : undefined,
    condition: () => condition,
    emit: <K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]) => {
      if (event === 'rtcStats') stats.push(args[0] as RtcStats)
      if (event === 'networkQuality') quality.push(args as [number, NetworkQuality, NetworkQuality])
      if (event === 'remoteVideoStats') remote.push(args[0] as RemoteVideoStats[])
    },
  })
  return { clock, stats, quality, remote, callStats, set: (next: typeof condition) => (condition = next) }
}

describe('CallStats', () => {
  it('reports the counters, the proxy endpoint, werift’s figures and the uid’s quality every 2 s', async () => {
    const { clock, stats, quality, callStats } = setup('udp', {
      iceRttMs: 150,
      txFractionLost: 0,
      rxPacketsLost: 0,
      rxPacketsReceived: 10,
    })
    callStats.start()
    callStats.counters.txBytes += 50_000
    callStats.counters.rxVideoFrames += 60
    await clock.advance(2000)
    expect(stats).toHaveLength(1)
    expect(stats[0]).toMatchObject({
      transport: 'udp',
      proxyAddress: '10.1.1.1:3478',
      rttMs: 150,
      rttSource: 'ice',
      txKbps: 200,
      rxVideoFps: 30,
    })
    expect(quality).toEqual([[7, 2, 2]])
    callStats.stop()
  })

  it('each remote user whose video arrives: remoteVideoStats, and their quality (ours down included)', async () => {
    const peer = { rxPacketsLost: 0, rxPacketsReceived: 0 }
    const { clock, remote, quality, callStats, set } = setup('udp', peer, undefined, [5, 6])
    const { remoteVideo } = callStats
    // uid 5 sends 30 fps; uid 6 freezes after its first frame; uid 8 is in the ledger but not received now.
    const frameEvery33 = (uid: number, from: number, to: number): void => {
      for (let t = from; t < to; t += 33.4) {
        remoteVideo.packet(uid, t, 1000, 1)
        remoteVideo.frame(uid, t, Uint8Array.of(0x51, 0, 0), false)
      }
    }
    frameEvery33(5, 0, 1)
    frameEvery33(6, 0, 1)
    frameEvery33(8, 0, 1)
    callStats.start()
    await clock.advance(0)
    frameEvery33(5, 1, 2000)
    await clock.advance(2000)
    expect(remote).toEqual([
      [
        { uid: 5, rxKbps: 240, rxFps: 30, packetLoss: 0, freezeCount: 0, frozenMs: 0 },
        { uid: 6, rxKbps: 0, rxFps: 0, packetLoss: 0, freezeCount: 1, frozenMs: 2000 },
      ],
    ])
    expect(quality).toEqual([
      [7, 1, 1],
      [5, 1, 0],
      [6, 5, 0],
    ])
    set('down')
    frameEvery33(5, 2000, 4000)
    await clock.advance(2000)
    expect(quality.slice(-3)).toEqual([
      [7, 6, 6],
      [5, 6, 0],
      [6, 6, 0],
    ])
    callStats.stop()
  })

  it('direct with no media yet: the signaling round trip, no proxy address', async () => {
    const { clock, stats, callStats } = setup('direct')
    callStats.signalingRttMs = 30
    callStats.start()
    await clock.advance(2000)
    expect(stats[0]).toMatchObject({ transport: 'direct', rttMs: 30, rttSource: 'signaling' })
    expect(stats[0]!.proxyAddress).toBeUndefined()
    callStats.stop()
  })

  it('reports the transport media uses now: after a failover, the new proxy endpoint', async () => {
    let inUse = transport('udp')
    const { clock, stats, callStats } = setup('udp', undefined, () => inUse)
    callStats.start()
    await clock.advance(2000)
    inUse = { ...transport('udp'), transport: 'tls', target: '10.2.2.2:443' }
    await clock.advance(2000)
    expect(stats.map((s) => [s.transport, s.proxyAddress])).toEqual([
      ['udp', '10.1.1.1:3478'],
      ['tls', '10.2.2.2:443'],
    ])
    callStats.stop()
  })

  it('quality 6 (down) while media is lost; nothing once the call is off or stopped', async () => {
    const { clock, stats, quality, callStats, set } = setup('udp')
    callStats.start()
    set('down')
    await clock.advance(2000)
    expect(quality).toEqual([[7, 6, 6]])
    set('off')
    await clock.advance(2000)
    expect(stats).toHaveLength(1)
    set('up')
    callStats.stop()
    await clock.advance(4000)
    expect(stats).toHaveLength(1)
  })
})
