import { describe, expect, it } from 'vitest'
import { DownlinkEstimate, LayerSelector, UP_HOLD_MS } from './downlink'
import { LayerRates } from './layerRates'

/**
 * Sends `bps` for one second in 50 packets, 20 ms apart, then a report of `loss` × 50 of them lost (with
 * the round trip `rttMs`); returns the estimate.
 */
function second(
  estimate: DownlinkEstimate,
  startMs: number,
  bps: number,
  loss: number,
  rttMs?: number,
): number {
  for (let t = startMs; t < startMs + 1000; t += 20) estimate.onSent(bps / 8 / 50, t)
  const rtt = rttMs === undefined ? {} : { rttMs }
  return estimate.onReport({ lost: loss * 50, ...rtt }, startMs + 1000)
}

describe('DownlinkEstimate (NACKs and receiver reports)', () => {
  it('nothing limits before a lossy report: clean reports keep it unknown (Infinity)', () => {
    const e = new DownlinkEstimate()
    for (let s = 0; s < 5; s++) expect(second(e, s * 1000, 800_000, 0)).toBe(Number.POSITIVE_INFINITY)
  })

  it('a shaped link, loss with a queue in the round trip: the delivered rate, sent × (1 − loss)', () => {
    const e = new DownlinkEstimate()
    second(e, 0, 800_000, 0, 120)
    // 800 kbit/s into a 300 kbit/s shaper: 62.5 % lost, its queue full.
    expect(second(e, 1000, 800_000, 0.625, 420)).toBeCloseTo(300_000, -3)
  })

  it('loss without a queue: GCC’s decrease, × (1 − loss / 2), not below what was delivered', () => {
    const e = new DownlinkEstimate()
    second(e, 0, 800_000, 0, 120)
    expect(second(e, 1000, 800_000, 0.5, 120)).toBeCloseTo(600_000, -3)
    expect(second(e, 2000, 200_000, 0.8, 120)).toBeCloseTo(120_000, -3) // from what was sent, lower
  })

  it('moderate loss (2–10 %) holds; low loss grows 8 %/s, but not past the ceiling the loss set', () => {
    const e = new DownlinkEstimate()
    second(e, 0, 800_000, 0, 120)
    second(e, 1000, 800_000, 0.5, 420) // 400 kbit/s delivered
    expect(second(e, 2000, 200_000, 0.05, 120)).toBeCloseTo(400_000, -3)
    for (let s = 3; s < 10; s++) second(e, s * 1000, 200_000, 0, 120)
    expect(e.bitrate).toBeCloseTo(400_000, -3) // capped by the ceiling for 15 s
    for (let s = 10; s < 20; s++) second(e, s * 1000, 200_000, 0, 120)
    expect(e.bitrate).toBeGreaterThan(400_000 * 1.08 ** 2) // the ceiling expired: growing again
  })

  it('a failed try doubles the wait before the next one, and keeps the rate the link carried', () => {
    const e = new DownlinkEstimate()
    second(e, 0, 800_000, 0, 120)
    second(e, 1000, 800_000, 0.5, 420) // ceiling until 17 s
    for (let s = 2; s < 20; s++) second(e, s * 1000, 300_000, 0, 120)
    // Tried more, lost again (300 kbit/s delivered): not below the 300 carried (+5 %), ceiling for 30 s.
    expect(second(e, 20_000, 600_000, 0.5, 420)).toBeCloseTo(315_000, -3)
    for (let s = 21; s < 45; s++) second(e, s * 1000, 300_000, 0, 120)
    expect(e.bitrate).toBeCloseTo(315_000, -3)
    for (let s = 45; s < 55; s++) second(e, s * 1000, 300_000, 0, 120)
    expect(e.bitrate).toBeGreaterThan(315_000 * 1.08 ** 2)
  })

  it('loss over a rate carried for seconds (a key frame’s burst) goes no lower than that rate', () => {
    const e = new DownlinkEstimate()
    for (let s = 0; s < 6; s++) second(e, s * 1000, 250_000, 0, 120)
    // 40 % of a 300 kbit/s second lost, no queue: 240 by GCC's rule, but 250 went through for 6 s.
    expect(second(e, 6000, 300_000, 0.4, 120)).toBeCloseTo(262_500, -3)
  })

  it('the carried rate holds one draining window, not a link that stepped down and keeps losing', () => {
    const e = new DownlinkEstimate()
    for (let s = 0; s < 6; s++) second(e, s * 1000, 1_500_000, 0, 120)
    expect(second(e, 6000, 1_700_000, 0.6, 400)).toBeCloseTo(1_575_000, -3) // a key frame over the rate
    expect(second(e, 7000, 1_500_000, 0.7, 420)).toBeCloseTo(1_575_000, -3) // its queue draining
    expect(second(e, 8000, 1_500_000, 0.7, 420)).toBeCloseTo(450_000, -3) // still losing: delivered
  })

  it('a key frame’s burst the floor absorbed sets no ceiling: nothing was tried', () => {
    const e = new DownlinkEstimate()
    for (let s = 0; s < 6; s++) second(e, s * 1000, 250_000, 0, 120)
    second(e, 6000, 300_000, 0.4, 120) // 262.5, ceiling until 22 s
    for (let s = 7; s < 10; s++) second(e, s * 1000, 250_000, 0, 120)
    expect(second(e, 10_000, 320_000, 0.4, 120)).toBeCloseTo(262_500, -3) // held by the floor
    for (let s = 11; s < 24; s++) second(e, s * 1000, 250_000, 0, 120)
    expect(e.bitrate).toBeGreaterThan(262_500 * 1.08) // grows from 22 s, not 15 s after the burst
  })

  it('loss at the rate carried says the link got worse: the decrease, and no ceiling to grow back past', () => {
    const e = new DownlinkEstimate()
    for (let s = 0; s < 6; s++) second(e, s * 1000, 250_000, 0, 120)
    expect(second(e, 6000, 250_000, 0.4, 120)).toBeCloseTo(200_000, -3)
    for (let s = 7; s < 10; s++) second(e, s * 1000, 200_000, 0, 120)
    expect(e.bitrate).toBeGreaterThan(250_000) // 3 s later: 200 × 1.08³
    expect(second(e, 10_000, 250_000, 0.4, 120)).toBeCloseTo(200_000, -3) // over no carried rate: a try
  })

  it('does not grow while the round trip shows a queue building', () => {
    const e = new DownlinkEstimate()
    second(e, 0, 800_000, 0, 120)
    second(e, 1000, 800_000, 0.5, 420)
    for (let s = 2; s < 20; s++) second(e, s * 1000, 300_000, 0, 120)
    const before = e.bitrate
    for (let s = 20; s < 25; s++) second(e, s * 1000, 300_000, 0, 250)
    expect(e.bitrate).toBe(before)
    expect(second(e, 25_000, 300_000, 0, 130)).toBeGreaterThan(before)
  })

  it('reports too close together, or over too few packets, are merged into the next', () => {
    const e = new DownlinkEstimate()
    for (let i = 0; i < 50; i++) e.onSent(250, i * 2)
    expect(e.onReport({ lost: 45 }, 100)).toBe(Number.POSITIVE_INFINITY) // 100 ms
    // 50 packets of 250 bytes in 1 s (100 kbit/s), 90 % of them lost: × (1 − 0.45).
    expect(e.onReport({ lost: 0 }, 1000)).toBeCloseTo(55_000, -2)
    for (let i = 0; i < 20; i++) e.onSent(250, 1000 + i * 50)
    expect(e.onReport({ lost: 3 }, 2000)).toBeCloseTo(55_000, -2) // 20 packets: not yet
    for (let i = 0; i < 20; i++) e.onSent(250, 2000 + i * 50)
    // 40 packets, 3 lost (7.5 %): held, not grown and not a decrease.
    expect(e.onReport({ lost: 0 }, 3000)).toBeCloseTo(55_000, -2)
  })

  it('learns the loss a link has without a queue, and judges the loss above it', () => {
    const e = new DownlinkEstimate()
    second(e, 0, 800_000, 0.5) // 600 kbit/s: × (1 − 0.25)
    for (let s = 1; s < 20; s++) second(e, s * 1000, 300_000, 0.04)
    expect(e.randomLoss).toBeCloseTo(0.04, 2)
    // 13 % is 9 % above what this link loses anyway: held. Before the link's loss was learned, a decrease.
    const before = e.bitrate
    expect(second(e, 20_000, 300_000, 0.13)).toBe(before)
    expect(second(new DownlinkEstimate(), 0, 300_000, 0.13)).toBeCloseTo(280_500, -3)
  })

  it('loss that comes with a queue in the round trip is not learned as the link’s own', () => {
    const e = new DownlinkEstimate()
    second(e, 0, 300_000, 0, 120)
    for (let s = 1; s < 20; s++) second(e, s * 1000, 300_000, 0.04, 400)
    expect(e.randomLoss).toBe(0)
    expect(second(e, 20_000, 300_000, 0.13, 400)).toBeCloseTo(261_000, -3)
  })

  it('random loss is learned up to 5 %: a link that loses 30 % is thinned whatever the cause', () => {
    const e = new DownlinkEstimate()
    for (let s = 0; s < 20; s++) second(e, s * 1000, 300_000, 0.08)
    expect(e.randomLoss).toBeCloseTo(0.05, 2)
    expect(second(e, 20_000, 300_000, 0.3)).toBeCloseTo(255_000, -3) // × (1 − 0.15)
  })
})

describe('LayerSelector', () => {
  const rates = [200_000, 300_000, 500_000] as const
  it.each([
    ['unknown (Infinity): the top layer', Number.POSITIVE_INFINITY, 2],
    ['everything fits with headroom', 600_000, 2],
    ['TL0+TL1 fits, all does not', 400_000, 1],
    ['TL0+TL1 fits exactly: the rates are the estimate’s own units, no headroom', 300_000, 1],
    ['only the base layer fits', 250_000, 0],
    ['nothing fits: the base layer is the floor', 50_000, 0],
  ])('%s', (_name, estimate, layer) => {
    expect(new LayerSelector().choose(estimate, rates, 0)).toBe(layer)
  })

  it('down at once, up only after the higher layer fit for UP_HOLD_MS without a break', () => {
    const s = new LayerSelector()
    expect(s.choose(250_000, rates, 0)).toBe(0)
    expect(s.choose(1_000_000, rates, 1000)).toBe(0)
    expect(s.choose(250_000, rates, 2000)).toBe(0) // the break restarts the wait
    expect(s.choose(1_000_000, rates, 3000)).toBe(0)
    expect(s.choose(1_000_000, rates, 3000 + UP_HOLD_MS - 1)).toBe(0)
    expect(s.choose(1_000_000, rates, 3000 + UP_HOLD_MS)).toBe(2)
    expect(s.choose(400_000, rates, 3001 + UP_HOLD_MS)).toBe(1)
  })
})

describe('LayerRates', () => {
  it('measures the rate per layer over the last 2 s, cumulative from the base layer', () => {
    const r = new LayerRates()
    // 30 fps L1T3 pattern 0 2 1 2: per second 7.5 frames of each of TL0 and TL1, 15 of TL2.
    for (let f = 0; f < 300; f++) {
      const layer = [0, 2, 1, 2][f % 4]!
      const bytes = [3000, 1500, 1000][layer]! - 12
      r.add(layer, bytes, Math.round((f * 1000) / 30))
    }
    const [l0, l1, l2] = r.cumulative(10_000)
    expect(l0).toBeCloseTo(7.5 * 3000 * 8, -4) // 180 kbit/s
    expect(l1).toBeCloseTo(l0 + 7.5 * 1500 * 8, -4)
    expect(l2).toBeCloseTo(l1 + 15 * 1000 * 8, -4)
    expect(r.cumulative(13_000)).toEqual([0, 0, 0]) // the window moved past the last packet
  })
})
