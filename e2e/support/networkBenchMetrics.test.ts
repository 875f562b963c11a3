import { describe, expect, it } from 'vitest'
import {
  freezes,
  latencies,
  renderedFps,
  secondsUntil,
  sideFigures,
  stepFigures,
  type RateSample,
  type Sighting,
} from '../../bench/network/metrics'
import { directionTimelines, stepPhase } from '../../bench/network/timeline'

/**
 * How `npm run bench:network` turns what the pages recorded into its figures (bench/network/metrics.ts):
 * both sides of the bench go through these, so they are checked on recordings whose answers are known.
 */

/** A sender whose rate is `kbps(t)` (t in ms), sampled every 500 ms from 0 to `endMs`. */
function series(endMs: number, kbps: (atMs: number) => number): RateSample[] {
  const out: RateSample[] = []
  for (let atMs = 500; atMs <= endMs; atMs += 500) out.push({ atMs, kbps: kbps(atMs) })
  return out
}

/** One direction that rendered `received` (nothing else read). */
const direction = (received: Sighting[]) => ({ sent: [], received, rxKbps: null, audio: null })

/** Frames every `everyMs` from `fromMs` to `toMs`, numbered from `first`. */
function frames(fromMs: number, toMs: number, everyMs: number, first = 0): Sighting[] {
  const out: Sighting[] = []
  for (let at = fromMs, code = first; at < toMs; at += everyMs, code++) out.push([code % 240, at])
  return out
}

describe('bench:network figures', () => {
  it('glass-to-glass matches each rendered frame with its latest showing at the sender, within the age limit', () => {
    const sent: Sighting[] = [
      [7, 1000],
      [8, 1033],
      [7, 9000], // the same code on the file's next pass
    ]
    const received: Sighting[] = [
      [7, 1080], // 80 ms after its first showing
      [8, 1233], // 200 ms
      [7, 9050], // matched with 9000, not 1000
      [9, 9100], // never sent: no sample
      [8, 6000], // 4967 ms after its showing: older than the limit, another pass
    ]
    expect(latencies(sent, received, 0, 20_000, 4000)).toEqual([80, 200, 50])
    // Frames outside the window are left out.
    expect(latencies(sent, received, 2000, 20_000, 4000)).toEqual([50])
  })

  it('counts gaps of 500 ms or more as freezes, the window edges included', () => {
    const smooth = frames(0, 10_000, 33)
    expect(freezes(smooth, 0, 10_000)).toEqual({ count: 0, frozenMs: 0 })
    // Frames stop from 3000 to 4200 (a 1.2 s freeze) and from 9500 to the window's end.
    const received = [...frames(0, 3000, 100), ...frames(4200, 9500, 100)]
    const { count, frozenMs } = freezes(received, 0, 10_000)
    expect(count).toBe(2)
    expect(frozenMs).toBe(4200 - 2900 + (10_000 - 9400))
    // Nothing at all: one freeze as long as the window.
    expect(freezes([], 0, 10_000)).toEqual({ count: 1, frozenMs: 10_000 })
    expect(renderedFps(frames(0, 10_000, 50), 0, 10_000)).toBe(20)
  })

  it('step timeline: each freeze with where it started and the link’s phase then, the same freezes as the figures', () => {
    const received = [...frames(0, 3000, 100), ...frames(4200, 9500, 100)]
    const step = { downAtMs: 2000, upAtMs: 6000, lowKbps: 400, highKbps: 3000 }
    const [timeline] = directionTimelines(
      { fromMs: 0, toMs: 10_000, directions: [direction(received)], txRates: [] },
      step,
    )
    expect(timeline!.freezes).toEqual([
      { atS: 2.9, gapMs: 1300, phase: 'low' },
      { atS: 9.4, gapMs: 600, phase: 'high again' },
    ])
    expect(freezes(received, 0, 10_000).count).toBe(timeline!.freezes.length)
    expect(stepPhase(1999, step)).toBe('high')
    expect(timeline!.fps).toEqual([9.5, 5, 9, 10, 7.5]) // the frame at 0 is the window's edge
  })

  it('step: how long until the senders together are below the low capacity, and back near their rate', () => {
    // Two senders at 800 kbit/s; at 10 s the link drops to 400; the senders are at 150 each in the sample
    // that ends at 11.5 s (covering 11.0–11.5 s, so from 11.1 s on the 100 ms grid); the link returns at 20 s,
    // they are at 700 each in the sample ending at 23 s (from 22.6 s on).
    const rate = (atMs: number): number => (atMs <= 11_000 ? 800 : atMs <= 22_500 ? 150 : 700)
    const adaptive = [series(40_000, rate), series(40_000, rate)]
    const step = { downAtMs: 10_000, upAtMs: 20_000, lowKbps: 400, highKbps: 3000 }
    // Back means 80 % of what they sent before the drop (1600), not of the 3000 they never reached.
    expect(stepFigures(adaptive, step, 40_000)).toEqual({
      adapt_down_s: 1.1,
      recover_s: 2.6,
      before_kbps: 1600,
    })

    // A fixed-rate sender never goes below (no figure) and is "back" the moment the link is.
    const fixed = [series(40_000, () => 800), series(40_000, () => 800)]
    expect(stepFigures(fixed, step, 40_000)).toEqual({ adapt_down_s: null, recover_s: 0, before_kbps: 1600 })

    // A dip shorter than the 1 s hold does not count.
    const dip = [series(40_000, (t) => (t === 12_000 ? 100 : 800))]
    expect(secondsUntil(dip, 10_000, 20_000, 400, 'below')).toBeNull()
  })

  it('reduces a side to the JSON keys: g2g pooled, the rest per receiver, audio only when exposed', () => {
    const fromMs = 0
    const toMs = 60_000
    const sent = frames(0, toMs, 33)
    const received = sent.map(([code, at]): Sighting => [code, at + 100])
    const figures = sideFigures(
      {
        fromMs,
        toMs,
        directions: [
          { sent, received, rxKbps: 600, audio: { concealed: 30, total: 1000 } },
          { sent, received: received.filter(([, at]) => at < 30_000), rxKbps: 400, audio: null },
        ],
        txRates: [],
      },
      4000,
    )
    expect(figures).toEqual({
      g2g_p50_ms: 100,
      g2g_p95_ms: 100,
      // The second receiver froze once, for the last 30 s.
      freezes_per_min: 0.5,
      frozen_ms: Math.round((toMs - received.filter(([, at]) => at < 30_000).at(-1)![1]) / 2),
      rx_fps: 22.7,
      rx_kbps: 500,
      audio_concealed_ratio: 0.03,
    })
  })
})
