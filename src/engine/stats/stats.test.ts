import { describe, expect, it } from 'vitest'
import type { NetworkQuality, RtcStats } from '../../shared/engine'
import {
  computeStats,
  fromWeriftStats,
  intervalLoss,
  networkQuality,
  newCounters,
  pickRtt,
  StatsCollector,
  type MediaCounters,
  type PeerStatsSample,
  type StatsSample,
} from './stats'
import { FakeClock } from '../../../e2e/support/fakeClock'

const peer = (lost: number, received: number, extra: Partial<PeerStatsSample> = {}): PeerStatsSample => ({
  rxPacketsLost: lost,
  rxPacketsReceived: received,
  ...extra,
})

describe('networkQuality(loss, rtt)', () => {
  it.each<[number | undefined, number | undefined, NetworkQuality]>([
    [undefined, undefined, 0],
    [0, undefined, 1],
    [undefined, 50, 1],
    [0, 0, 1],
    [0.009, 99, 1],
    [0.01, 99, 2],
    [0, 100, 2],
    [0.029, 199, 2],
    [0.03, 0, 3],
    [0, 200, 3],
    [0.079, 399, 3],
    [0.08, 10, 4],
    [0, 400, 4],
    [0.149, 799, 4],
    [0.15, 10, 5],
    [0, 800, 5],
    [1, 5000, 5],
    // The worse of the two decides.
    [0.05, 50, 3],
    [0, 500, 4],
    // Nonsense is graded as bad, not as excellent.
    [Number.NaN, 10, 5],
    [-1, 10, 5],
    [0, Number.POSITIVE_INFINITY, 5],
  ])('loss %s, rtt %s ms → %i', (loss, rtt, expected) => {
    expect(networkQuality(loss, rtt)).toBe(expected)
  })
})

describe('fromWeriftStats', () => {
  it('reads the nominated ICE pair, the RTCP round trips and losses, and sums the receivers', () => {
    const sample = fromWeriftStats([
      { type: 'candidate-pair', nominated: false, currentRoundTripTime: 0.5 },
      { type: 'candidate-pair', nominated: true, currentRoundTripTime: 0.012 },
      { type: 'remote-inbound-rtp', roundTripTime: 0.01, fractionLost: 0.02, packetsLost: 3 },
      { type: 'remote-inbound-rtp', roundTripTime: 0.03, fractionLost: 0.05, packetsLost: 4 },
      { type: 'inbound-rtp', packetsLost: 2, packetsReceived: 100 },
      { type: 'inbound-rtp', packetsLost: -1, packetsReceived: 50 },
      { type: 'codec' },
    ])
    expect(sample).toEqual({
      iceRttMs: 12,
      rtcpRttMs: 20,
      txFractionLost: 0.05,
      txPacketsLost: 7,
      rxPacketsLost: 2,
      rxPacketsReceived: 150,
    })
  })

  it('leaves out what werift has not measured', () => {
    expect(fromWeriftStats([{ type: 'candidate-pair', nominated: true }, { type: 'inbound-rtp' }])).toEqual({
      rxPacketsLost: 0,
      rxPacketsReceived: 0,
    })
  })
})

describe('pickRtt', () => {
  it.each<[string, Partial<StatsSample>, ReturnType<typeof pickRtt>]>([
    [
      'a TURN round trip to the proxy first',
      { peer: peer(0, 0, { turnRttMs: 1.26, iceRttMs: 3.04, rtcpRttMs: 5 }), signalingRttMs: 7 },
      { rttMs: 1.3, rttSource: 'turn' },
    ],
    [
      'then ICE',
      { peer: peer(0, 0, { iceRttMs: 3.04, rtcpRttMs: 5 }), signalingRttMs: 7 },
      { rttMs: 3, rttSource: 'ice' },
    ],
    [
      'then RTCP',
      { peer: peer(0, 0, { rtcpRttMs: 5.26 }), signalingRttMs: 7 },
      { rttMs: 5.3, rttSource: 'rtcp' },
    ],
    [
      'then the signaling ping',
      { peer: peer(0, 0), signalingRttMs: 7 },
      { rttMs: 7, rttSource: 'signaling' },
    ],
    ['nothing measured', {}, undefined],
  ])('%s', (_name, sample, expected) => {
    expect(pickRtt({ atMs: 0, counters: newCounters(), ...sample })).toEqual(expected)
  })
})

describe('intervalLoss', () => {
  it.each<[string, PeerStatsSample | undefined, PeerStatsSample | undefined, number]>([
    ['no receivers', undefined, undefined, 0],
    ['nothing received yet', peer(0, 0), peer(0, 0), 0],
    ['first sample: cumulative', undefined, peer(1, 99), 0.01],
    ['the change between samples', peer(10, 1000), peer(15, 1095), 0.05],
    ['no loss in the interval', peer(10, 1000), peer(10, 1100), 0],
    ['a new PeerConnection (counts went down): its own counts', peer(10, 1000), peer(2, 18), 0.1],
  ])('%s', (_name, previous, current, expected) => {
    expect(intervalLoss(previous, current)).toBeCloseTo(expected, 6)
  })
})

const counters = (values: Partial<MediaCounters>): MediaCounters => ({ ...newCounters(), ...values })

describe('computeStats', () => {
  const context = { transport: 'udp' as const, proxyAddress: '10.0.0.1:3478', startedAtMs: 0 }

  it('rates over the samples’ spacing, loss per direction, transport and proxy', () => {
    const previous: StatsSample = {
      atMs: 1000,
      counters: counters({ txBytes: 1000, rxBytes: 0, txVideoFrames: 10, rxVideoFrames: 5 }),
      peer: peer(0, 100),
    }
    const current: StatsSample = {
      atMs: 3000,
      counters: counters({
        txBytes: 251_000,
        rxBytes: 125_000,
        txVideoFrames: 70,
        rxVideoFrames: 55,
        txAudioPackets: 100,
        rxAudioPackets: 98,
        txVideoBytes: 200_000,
      }),
      peer: peer(2, 198, {
        rtcpRttMs: 8,
        txFractionLost: 0.0234,
        txPacketsLost: 3,
        sendTargetBps: 1_234_567,
        txVideoWidth: 640,
        txVideoHeight: 360,
      }),
      signalingRttMs: 20,
    }
    expect(computeStats(previous, current, context)).toEqual<RtcStats>({
      transport: 'udp',
      proxyAddress: '10.0.0.1:3478',
      rttMs: 8,
      rttSource: 'rtcp',
      txKbps: 1000,
      rxKbps: 500,
      txPacketLoss: 0.0234,
      rxPacketLoss: 0.02,
      txPacketsLost: 3,
      rxPacketsLost: 2,
      txVideoFps: 30,
      rxVideoFps: 25,
      txAudioPackets: 100,
      rxAudioPackets: 98,
      estimatedBandwidthKbps: 1234.6,
      txVideoKbps: 800,
      txVideoWidth: 640,
      txVideoHeight: 360,
      intervalMs: 2000,
      durationSeconds: 3,
    })
  })

  it('direct, no media path yet: zeros, no RTT, no proxy address', () => {
    const stats = computeStats(
      { atMs: 0, counters: newCounters() },
      { atMs: 2000, counters: newCounters() },
      { transport: 'direct', startedAtMs: 0 },
    )
    expect(stats).toMatchObject({
      transport: 'direct',
      txKbps: 0,
      rxKbps: 0,
      txPacketLoss: 0,
      rxPacketLoss: 0,
    })
    expect(stats.proxyAddress).toBeUndefined()
    expect(stats.rttMs).toBeUndefined()
  })
})

describe('StatsCollector', () => {
  it('samples on the injected clock and reports one figure set per interval until stopped', async () => {
    const clock = new FakeClock()
    let bytes = 0
    const reports: [RtcStats, NetworkQuality, NetworkQuality][] = []
    const collector = new StatsCollector({
      clock,
      intervalMs: 1000,
      context: { transport: 'tls', proxyAddress: 'p:443', startedAtMs: 0 },
      sample: () => {
        bytes += 12_500
        return Promise.resolve({
          atMs: clock.now(),
          counters: counters({ txBytes: bytes }),
          signalingRttMs: 250,
        })
      },
      report: (stats, quality) => reports.push([stats, quality.tx, quality.rx]),
    })
    collector.start()
    await clock.advance(999)
    expect(reports).toEqual([])
    await clock.advance(2001)
    expect(reports.map(([s, tx, rx]) => [s.txKbps, s.rttSource, s.durationSeconds, tx, rx])).toEqual([
      [100, 'signaling', 1, 3, 3],
      [100, 'signaling', 2, 3, 3],
      [100, 'signaling', 3, 3, 3],
    ])
    collector.stop()
    await clock.advance(5000)
    expect(reports).toHaveLength(3)
  })

  it('a sample that throws skips the interval and the collector goes on', async () => {
    const clock = new FakeClock()
    const errors: unknown[] = []
    let calls = 0
    const reports: RtcStats[] = []
    const collector = new StatsCollector({
      clock,
      context: { transport: 'udp', startedAtMs: 0 },
      sample: () =>
        ++calls === 2
          ? Promise.reject(new Error('closing'))
          : Promise.resolve({ atMs: clock.now(), counters: newCounters() }),
      report: (stats) => reports.push(stats),
      onError: (error) => errors.push(error),
    })
    collector.start()
    await clock.advance(6000)
    collector.stop()
    expect(errors).toHaveLength(1)
    expect(reports.map((s) => s.intervalMs)).toEqual([4000, 2000])
  })
})
