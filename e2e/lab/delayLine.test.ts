import { describe, expect, it } from 'vitest'
import { DEFAULT_QUEUE_MS, DelayLine, checkDirection, rttProfile, type LinkDirection } from './delayLine'

/** A seeded xorshift32 in [0, 1): the same "random" sequence on every run. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 2 ** 32
  }
}

interface Released {
  /** Packet number, in offer order. */
  out: number
  sent: number
  /** When `due` handed it out (the drain walks the head's release times). */
  at: number
  /** The release time `offer` announced. */
  scheduled: number
}

/** Offers `count` packets of `bytes` every `intervalMs` from t = 0, draining as time passes; returns releases. */
function drive(line: DelayLine<number>, count: number, intervalMs: number, bytes: number): Released[] {
  const out: Released[] = []
  const sentAt = new Map<number, number>()
  const scheduled = new Map<number, number>()
  let t = 0
  const drainTo = (now: number): void => {
    for (let next = line.nextReleaseAt(); next !== undefined && next <= now; next = line.nextReleaseAt())
      for (const id of line.due(next))
        out.push({ sent: sentAt.get(id) ?? NaN, at: next, scheduled: scheduled.get(id) ?? NaN, out: id })
  }
  for (let i = 0; i < count; i++, t += intervalMs) {
    drainTo(t)
    sentAt.set(i, t)
    const verdict = line.offer(t, bytes, i)
    if (verdict.kind === 'queued') scheduled.set(i, verdict.releaseAt)
  }
  drainTo(Number.POSITIVE_INFINITY)
  return out
}

describe('DelayLine: one direction of the emulated link', () => {
  it.each([
    { delayMs: 0, note: 'no impairment: released at arrival' },
    { delayMs: 25, note: 'half of a 50 ms RTT' },
    { delayMs: 60, note: 'half of `poor`' },
  ])('a fixed delay of $delayMs ms delays every packet exactly that much ($note)', ({ delayMs }) => {
    const line = new DelayLine<number>({ delayMs })
    const out = drive(line, 100, 3, 1200)
    expect(out).toHaveLength(100)
    for (const p of out) expect(p.at - p.sent).toBe(delayMs)
    expect(line.stats()).toMatchObject({ packetsIn: 100, packetsOut: 100, bytesOut: 120_000, queued: 0 })
  })

  it.each([
    { delayMs: 20, jitterMs: 20, intervalMs: 20, note: 'sparse (audio-like): jitter seldom clamped' },
    { delayMs: 50, jitterMs: 30, intervalMs: 1, note: 'dense (video burst): FIFO clamps most packets' },
  ])(
    'jitter stays in [delay, delay + jitter] and keeps order ($note)',
    ({ delayMs, jitterMs, intervalMs }) => {
      const line = new DelayLine<number>({ delayMs, jitterMs }, seeded(7))
      const out = drive(line, 2000, intervalMs, 200)
      expect(out.map((p) => p.out)).toEqual([...Array(2000).keys()])
      // Each left at the time offer() announced: no packet was held behind a later-scheduled one.
      for (const p of out) expect(p.at).toBe(p.scheduled)
      const delays = out.map((p) => p.at - p.sent)
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(delayMs)
      expect(Math.max(...delays)).toBeLessThanOrEqual(delayMs + jitterMs)
      // It really varies: the spread covers most of the jitter range.
      expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(jitterMs * 0.8)
    },
  )

  it.each([
    { lossPct: 1, seed: 1 },
    { lossPct: 3, seed: 2 },
    { lossPct: 20, seed: 3 },
  ])('loss of $lossPct % drops that fraction of 10 000 packets (binomial 4σ)', ({ lossPct, seed }) => {
    const n = 10_000
    const line = new DelayLine<number>({ delayMs: 10, lossPct }, seeded(seed))
    const out = drive(line, n, 1, 100)
    const p = lossPct / 100
    const sigma = Math.sqrt(n * p * (1 - p))
    const { droppedLoss, packetsOut, droppedQueue } = line.stats()
    expect(Math.abs(droppedLoss - n * p)).toBeLessThan(4 * sigma)
    expect(packetsOut).toBe(n - droppedLoss)
    expect(out).toHaveLength(packetsOut)
    expect(droppedQueue).toBe(0)
  })

  it('100 % loss drops everything, 0 % nothing', () => {
    const all = new DelayLine<number>({ delayMs: 0, lossPct: 100 }, seeded(4))
    drive(all, 500, 1, 100)
    expect(all.stats()).toMatchObject({ droppedLoss: 500, packetsOut: 0 })
    const none = new DelayLine<number>({ delayMs: 0, lossPct: 0 }, () => 0)
    drive(none, 500, 1, 100)
    expect(none.stats()).toMatchObject({ droppedLoss: 0, packetsOut: 500 })
  })

  it.each([
    { rateKbps: 400, bytes: 1000, note: 'step profile low' },
    { rateKbps: 2000, bytes: 1200, note: 'office' },
    { rateKbps: 3000, bytes: 1500, note: 'step profile high' },
  ])('a sender under the rate ($rateKbps kbit/s) sees only its serialisation delay ($note)', (c) => {
    const line = new DelayLine<number>({ delayMs: 20, rateKbps: c.rateKbps })
    const serialiseMs = (c.bytes * 8) / c.rateKbps
    // Half the capacity: every packet finds the queue empty.
    const out = drive(line, 200, serialiseMs * 2, c.bytes)
    for (const p of out) expect(p.at - p.sent).toBeCloseTo(20 + serialiseMs, 9)
    expect(line.stats().droppedQueue).toBe(0)
  })

  it.each([
    { rateKbps: 400, queueMs: 300, overshoot: 2 },
    { rateKbps: 2000, queueMs: DEFAULT_QUEUE_MS, overshoot: 1.5 },
    { rateKbps: 3000, queueMs: 100, overshoot: 4 },
  ])(
    'a sender at $overshoot × $rateKbps kbit/s leaves at the rate, queueing up to $queueMs ms then tail-dropping',
    ({ rateKbps, queueMs, overshoot }) => {
      const bytes = 1000
      const serialiseMs = (bytes * 8) / rateKbps
      const line = new DelayLine<number>({ delayMs: 10, rateKbps, queueMs })
      const count = 3000
      const out = drive(line, count, serialiseMs / overshoot, bytes)
      // Departures are spaced exactly one serialisation time apart: the link runs at its rate.
      const first = out[0]
      const last = out[out.length - 1]
      if (first === undefined || last === undefined) throw new Error('nothing left the link')
      const kbps = ((out.length - 1) * bytes * 8) / (last.at - first.at)
      expect(kbps).toBeCloseTo(rateKbps, 6)
      // Queueing delay grows to the limit and never beyond (the last packet in may still fit).
      const delays = out.map((p) => p.at - p.sent - 10)
      expect(Math.max(...delays)).toBeLessThanOrEqual(queueMs + serialiseMs + 1e-9)
      expect(Math.max(...delays)).toBeGreaterThan(queueMs - serialiseMs)
      // What did not fit was dropped: about (1 - 1/overshoot) of the offered packets once the queue is full.
      const { droppedQueue, packetsOut } = line.stats()
      expect(droppedQueue + packetsOut).toBe(count)
      expect(droppedQueue / count).toBeGreaterThan((1 - 1 / overshoot) * 0.85)
      expect(out.map((p) => p.out)).toEqual([...out.map((p) => p.out)].sort((a, b) => a - b))
    },
  )

  it('a rate change applies to the next packet; packets already queued keep their times', () => {
    const line = new DelayLine<string>({ delayMs: 0, rateKbps: 3000 })
    expect(line.offer(0, 1500, 'a')).toEqual({ kind: 'queued', releaseAt: 4 })
    line.configure({ delayMs: 0, rateKbps: 400 })
    // Queued behind 'a' (4 ms), then 30 ms at 400 kbit/s.
    expect(line.offer(0, 1500, 'b')).toEqual({ kind: 'queued', releaseAt: 34 })
    line.configure({ delayMs: 0, rateKbps: 3000 })
    expect(line.offer(34, 1500, 'c')).toEqual({ kind: 'queued', releaseAt: 38 })
    expect(line.due(33)).toEqual(['a'])
    expect(line.due(38)).toEqual(['b', 'c'])
  })

  it('a shorter delay set at run time never lets a later packet overtake an earlier one', () => {
    const line = new DelayLine<string>({ delayMs: 100 })
    line.offer(0, 100, 'slow')
    line.configure({ delayMs: 10 })
    expect(line.offer(1, 100, 'fast')).toEqual({ kind: 'queued', releaseAt: 100 })
    expect(line.offer(200, 100, 'later')).toEqual({ kind: 'queued', releaseAt: 210 })
    expect(line.due(100)).toEqual(['slow', 'fast'])
    expect(line.nextReleaseAt()).toBe(210)
  })

  it("releases within the caller's slack and reports how late (or early) packets left", () => {
    const line = new DelayLine<string>({ delayMs: 10 })
    line.offer(0, 100, 'a')
    line.offer(1, 100, 'b')
    line.offer(2, 100, 'c')
    expect(line.due(9.4, 0.5)).toEqual([])
    expect(line.due(9.5, 0.5)).toEqual(['a'])
    expect(line.due(12.5)).toEqual(['b', 'c'])
    const { lateMsMean, lateMsMax } = line.stats()
    // a: 0.5 early, b: 1.5 late, c: 0.5 late.
    expect(lateMsMean).toBeCloseTo(0.5, 9)
    expect(lateMsMax).toBeCloseTo(1.5, 9)
  })

  it.each<[string, LinkDirection]>([
    ['negative delay', { delayMs: -1 }],
    ['NaN jitter', { delayMs: 0, jitterMs: Number.NaN }],
    ['loss above 100 %', { delayMs: 0, lossPct: 101 }],
    ['zero rate', { delayMs: 0, rateKbps: 0 }],
    ['infinite queue', { delayMs: 0, rateKbps: 100, queueMs: Number.POSITIVE_INFINITY }],
  ])('rejects %s', (_name, direction) => {
    expect(() => checkDirection(direction)).toThrow(/link/)
    expect(() => new DelayLine(direction)).toThrow(/link/)
  })

  it('rttProfile splits the RTT over both directions and copies the rest', () => {
    expect(rttProfile(100, { lossPct: 1, rateKbps: 2000 })).toEqual({
      up: { delayMs: 50, lossPct: 1, rateKbps: 2000 },
      down: { delayMs: 50, lossPct: 1, rateKbps: 2000 },
    })
  })
})
