import { describe, expect, it } from 'vitest'
import { AimdRateControl } from './aimd'
import { InterArrival } from './interArrival'
import { LossBasedControl } from './lossBased'
import { OveruseDetector } from './overuse'
import { linearFitSlope, Trendline } from './trendline'

describe('InterArrival', () => {
  it('groups packets sent within 5 ms and reports d = arrival delta − send delta between groups', () => {
    const ia = new InterArrival()
    const feed = (send: number, arrival: number) =>
      ia.add({ sendTimeMs: send, sizeBytes: 1200, arrivalTimeMs: arrival })
    expect(feed(0, 100)).toBeNull()
    expect(feed(3, 104)).toBeNull() // same group
    expect(feed(20, 130)).toBeNull() // completes group 1, no previous group yet
    expect(feed(40, 158)).toEqual({ arrivalMs: 130, sendDeltaMs: 17, delayDeltaMs: 9 })
    expect(feed(60, 178)).toEqual({ arrivalMs: 158, sendDeltaMs: 20, delayDeltaMs: 8 })
  })
})

describe('Trendline', () => {
  it.each([
    { points: [0, 1, 2, 3].map((x) => ({ x, y: 2 * x + 1 })), slope: 2 },
    { points: [0, 1, 2].map((x) => ({ x, y: 5 })), slope: 0 },
    { points: [1, 1, 1].map((x) => ({ x, y: x })), slope: null },
  ])('least-squares slope $slope', ({ points, slope }) => {
    expect(linearFitSlope(points)).toBe(slope)
  })

  it('a steadily growing queue gives a positive trend, a steady one none', () => {
    const growing = new Trendline()
    const steady = new Trendline()
    let g = 0
    let s = 0
    for (let i = 0; i < 40; i++) {
      g = growing.update(2, i * 20)
      s = steady.update(0, i * 20)
    }
    expect(g).toBeGreaterThan(12.5)
    expect(s).toBe(0)
  })
})

describe('OveruseDetector', () => {
  it.each([
    { trends: [0, 0, 0], usage: 'normal' },
    { trends: [20, 25, 30], usage: 'overuse' },
    { trends: [20], usage: 'normal' }, // one sample over the threshold is not yet overuse
    { trends: [-20], usage: 'underuse' },
  ] as const)('trends $trends → $usage', ({ trends, usage }) => {
    const detector = new OveruseDetector()
    let result = ''
    trends.forEach((trend, i) => (result = detector.detect(trend, 20, i * 20)))
    expect(result).toBe(usage)
  })

  it('the threshold follows a moderate trend up and stays within [6, 600]', () => {
    const detector = new OveruseDetector()
    for (let i = 0; i < 200; i++) detector.detect(20, 20, i * 20)
    expect(detector.threshold()).toBeGreaterThan(12.5)
    for (let i = 200; i < 400; i++) detector.detect(0, 20, i * 20)
    expect(detector.threshold()).toBe(6)
  })
})

describe('LossBasedControl', () => {
  it.each([
    { lost: 0, expected: 1_050_000 }, // < 2 %: +5 % per 100 ms
    { lost: 5, expected: 1_000_000 }, // 5 %: hold
    { lost: 20, expected: 900_000 }, // 20 %: × (1 − 0.5 × 0.2)
  ])('$lost lost of 100 → $expected', ({ lost, expected }) => {
    const control = new LossBasedControl(1_000_000, 10_000, 10_000_000)
    control.onPackets(0, 0, 0)
    expect(control.onPackets(100, lost, 100)).toBeCloseTo(expected, 0)
  })

  it('waits for 20 packets before judging', () => {
    const control = new LossBasedControl(1_000_000, 10_000, 10_000_000)
    control.onPackets(0, 0, 0)
    expect(control.onPackets(10, 10, 500)).toBe(1_000_000)
  })
})

describe('AimdRateControl: a decrease', () => {
  it.each([
    // GCC: 0.85 × what was acknowledged, here what the content cost (80 kbit/s).
    { what: 'to 0.85 × acked', floor: undefined, expected: 68_000 },
    // Application-limited, no loss (the estimator passes its start value): no lower than 0.85 × it.
    { what: 'application-limited: to 0.85 × the floor', floor: 300_000, expected: 255_000 },
    { what: 'never up: a floor above the rate keeps the rate', floor: 2_000_000, expected: 1_000_000 },
  ])('$what', ({ floor, expected }) => {
    const aimd = new AimdRateControl(1_000_000, 30_000, 4_000_000)
    aimd.update('normal', 80_000, 0)
    expect(aimd.update('overuse', 80_000, 1_000, floor)).toBeCloseTo(expected, 0)
  })
})
