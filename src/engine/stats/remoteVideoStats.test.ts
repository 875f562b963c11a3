import { describe, expect, it } from 'vitest'
import type { NetworkQuality, RemoteVideoStats } from '../../shared/engine'
import {
  computeRemoteVideoStats,
  intervalQuality,
  RemoteVideoReporter,
  remoteQuality,
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

describe('remoteQuality (docs/engine.md "Statistics")', () => {
  const stats = (over: Partial<RemoteVideoStats>): RemoteVideoStats => ({
    uid: 9,
    rxKbps: 800,
    rxFps: 30,
    packetLoss: 0,
    freezeCount: 0,
    frozenMs: 0,
    ...over,
  })
  it.each<[string, Partial<RemoteVideoStats>, number, NetworkQuality, number, NetworkQuality]>([
    ['clean, 30 fps', {}, 0, 1, 100, 1],
    ['clean, our downlink unknown', {}, 0, 0, 100, 1],
    ['2 % loss', { packetLoss: 0.02 }, 0, 1, 100, 2],
    ['10 % loss', { packetLoss: 0.1 }, 0, 1, 100, 4],
    ['20 % loss', { packetLoss: 0.2 }, 0, 1, 100, 5],
    ['20 fps of 30', { rxFps: 20 }, 0, 1, 100, 2],
    ['5 fps of 30', { rxFps: 5 }, 0, 1, 100, 5],
    ['7 fps of 30', { rxFps: 7 }, 0, 1, 100, 4],
    ['7.5 fps on layer 0 (what the server forwards)', { rxFps: 7.5, temporalLayer: 0 }, 0, 1, 100, 1],
    ['12 fps on layers 0–1', { rxFps: 12, temporalLayer: 1 }, 0, 1, 100, 1],
    ['a 300 ms freeze in a 2 s interval', {}, 300, 1, 100, 3],
    ['frozen 0.6 s of 2 s', {}, 600, 1, 100, 4],
    ['frozen the whole interval', { rxFps: 0 }, 2000, 1, 100, 5],
    ['a clean stream over our own poor downlink', {}, 0, 4, 100, 4],
    ['our media path down', {}, 0, 6, 100, 6],
    ['no frame yet', { rxFps: 0 }, 0, 1, 0, 0],
  ])('%s', (_name, over, frozen, own, frames, expected) => {
    expect(remoteQuality(stats(over), frozen, 2000, own, frames)).toBe(expected)
  })
})

describe('RemoteVideoReporter', () => {
  it('reports users seen in the previous snapshot too, over the time between the two', () => {
    const reporter = new RemoteVideoReporter()
    expect(reporter.next([totals({ frames: 10 })], 0)).toEqual([])
    const second = reporter.next([totals({ frames: 70 }), totals({ uid: 10, frames: 5 })], 2000)
    expect(second.map((i) => [i.stats.uid, i.stats.rxFps, i.intervalMs])).toEqual([[9, 30, 2000]])
    expect(second.map((i) => intervalQuality(i, 1))).toEqual([1])
    const third = reporter.next(
      [totals({ frames: 70, frozenMs: 1500 }), totals({ uid: 10, frames: 65 })],
      4000,
    )
    expect(third.map((i) => [i.stats.uid, i.frozenInIntervalMs, intervalQuality(i, 2)])).toEqual([
      [9, 1500, 5],
      [10, 0, 2],
    ])
  })
})
