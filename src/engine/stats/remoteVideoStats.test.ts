import { describe, expect, it } from 'vitest'
import type { NetworkQuality, RemoteVideoStats } from '../../shared/engine'
import {
  computeRemoteVideoStats,
  expectedFps,
  RemoteVideoReporter,
  remoteQuality,
  type RemoteVideoInterval,
  type RemoteVideoTotals,
} from './remoteVideoStats'

const totals = (over: Partial<RemoteVideoTotals> = {}): RemoteVideoTotals => ({
  uid: 9,
  bytes: 0,
  packets: 0,
  expected: 0,
  frames: 0,
  freezeCount: 0,
  frozenMs: 0,
  ...over,
})

describe('computeRemoteVideoStats', () => {
  it('rates over the interval, loss from expected vs received, size, layer, freezes since joining', () => {
    const before = totals({
      bytes: 100_000,
      packets: 900,
      expected: 910,
      frames: 300,
      freezeCount: 1,
      frozenMs: 800,
    })
    const now = totals({
      bytes: 350_000,
      packets: 1090,
      expected: 1110,
      frames: 360,
      freezeCount: 2,
      frozenMs: 1400,
      width: 640,
      height: 360,
      temporalLayer: 1,
    })
    expect(computeRemoteVideoStats(before, now, 2000)).toEqual({
      uid: 9,
      rxKbps: 1000,
      rxFps: 30,
      width: 640,
      height: 360,
      temporalLayer: 1,
      packetLoss: 0.05,
      freezeCount: 2,
      frozenMs: 1400,
    })
  })

  it('no packets expected: no loss; retransmissions never make it negative; no TID: no layer', () => {
    const stats = computeRemoteVideoStats(
      totals({ packets: 10, expected: 10 }),
      totals({ packets: 15, expected: 12 }),
      1000,
    )
    expect(stats.packetLoss).toBe(0)
    expect(stats).not.toHaveProperty('temporalLayer')
    expect(computeRemoteVideoStats(totals(), totals(), 1000).packetLoss).toBe(0)
  })
})

describe('expectedFps: the shortest frame step, else the layer', () => {
  it.each<[string, Partial<RemoteVideoTotals>, number]>([
    ['every frame at 30 fps (3000 ticks)', { frameIntervalTicks: 3000, temporalLayer: 2 }, 30],
    ['a sender at 15 fps', { frameIntervalTicks: 6000, temporalLayer: 2 }, 15],
    ['layers 0–1 of 30 fps forwarded', { frameIntervalTicks: 6000, temporalLayer: 1 }, 15],
    ['no step measured, layer 0', { temporalLayer: 0 }, 7.5],
    ['no step measured, no layers', {}, 30],
  ])('%s → %s', (_name, over, fps) => {
    expect(expectedFps(totals(over))).toBe(fps)
  })
})

describe('remoteQuality (docs/engine.md "Statistics")', () => {
  const interval = (
    over: Partial<RemoteVideoStats>,
    frozenInIntervalMs: number,
    totalFrames: number,
    expected = 30,
  ): RemoteVideoInterval => ({
    stats: { uid: 9, rxKbps: 800, rxFps: 30, packetLoss: 0, freezeCount: 0, frozenMs: 0, ...over },
    frozenInIntervalMs,
    intervalMs: 2000,
    totalFrames,
    expectedFps: expected,
  })
  it.each<[string, RemoteVideoInterval, NetworkQuality, NetworkQuality]>([
    ['clean, 30 fps', interval({}, 0, 100), 1, 1],
    ['clean, our downlink unknown', interval({}, 0, 100), 0, 1],
    ['2 % loss', interval({ packetLoss: 0.02 }, 0, 100), 1, 2],
    ['10 % loss', interval({ packetLoss: 0.1 }, 0, 100), 1, 4],
    ['20 % loss', interval({ packetLoss: 0.2 }, 0, 100), 1, 5],
    ['20 fps of 30', interval({ rxFps: 20 }, 0, 100), 1, 2],
    ['7 fps of 30', interval({ rxFps: 7 }, 0, 100), 1, 4],
    ['5 fps of 30', interval({ rxFps: 5 }, 0, 100), 1, 5],
    ['7.5 fps of 7.5 (layer 0 forwarded)', interval({ rxFps: 7.5, temporalLayer: 0 }, 0, 100, 7.5), 1, 1],
    ['15 fps from a sender at 15', interval({ rxFps: 15 }, 0, 100, 15), 1, 1],
    ['8 fps of 15', interval({ rxFps: 8 }, 0, 100, 15), 1, 3],
    ['a 300 ms freeze in a 2 s interval', interval({}, 300, 100), 1, 3],
    ['frozen 0.6 s of 2 s', interval({}, 600, 100), 1, 4],
    ['frozen the whole interval', interval({ rxFps: 0 }, 2000, 100), 1, 5],
    ['a clean stream over our own poor downlink', interval({}, 0, 100), 4, 4],
    ['our media path down', interval({}, 0, 100), 6, 6],
    ['no frame yet', interval({ rxFps: 0 }, 0, 0), 1, 0],
  ])('%s', (_name, input, own, expected) => {
    expect(remoteQuality(input, own)).toBe(expected)
  })
})

describe('RemoteVideoReporter', () => {
  it('reports users seen in the previous snapshot too, over the time between the two', () => {
    const reporter = new RemoteVideoReporter()
    expect(reporter.next([totals({ frames: 10 })], 0)).toEqual([])
    const second = reporter.next(
      [totals({ frames: 70, frameIntervalTicks: 3000 }), totals({ uid: 10, frames: 5 })],
      2000,
    )
    expect(second.map((i) => [i.stats.uid, i.stats.rxFps, i.intervalMs, i.expectedFps])).toEqual([
      [9, 30, 2000, 30],
    ])
    expect(second.map((i) => remoteQuality(i, 1))).toEqual([1])
    const third = reporter.next(
      [totals({ frames: 70, frozenMs: 1500 }), totals({ uid: 10, frames: 65 })],
      4000,
    )
    expect(third.map((i) => [i.stats.uid, i.frozenInIntervalMs, remoteQuality(i, 2)])).toEqual([
      [9, 1500, 5],
      [10, 0, 2],
    ])
  })
})
