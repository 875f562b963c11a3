import type { StampSighting } from '../lib/stampPoller'

/**
 * The figures of `npm run bench:network` from what the pages recorded (pure: no browser, no clock). Both
 * sides (ours and Chromium's native WebRTC) are reduced by the same functions, so a difference in a figure is
 * a difference in the call, not in how it was measured.
 */

/** A frame number first seen at `atMs` (epoch ms: performance.timeOrigin + now() in the page). */
export type Sighting = StampSighting

/** A send or receive rate over the interval that ends at `atMs`. */
export interface RateSample {
  atMs: number
  kbps: number
}

/** One direction of the call: what the sender's preview showed and what the receiver rendered. */
export interface DirectionRecord {
  sent: Sighting[]
  received: Sighting[]
  /** Video received over the window, kbps (RTP payload + header); null when the side does not say. */
  rxKbps: number | null
  /** Audio samples concealed / received at this receiver over the window; null when not exposed. */
  audio: { concealed: number; total: number } | null
}

export interface SideRecord {
  fromMs: number
  toMs: number
  directions: DirectionRecord[]
  /** Each sender's total send rate (video + audio, RTP payload + header) over time. */
  txRates: RateSample[][]
}

export interface StepTimes {
  /** Epoch ms of the drop and of the return. */
  downAtMs: number
  upAtMs: number
  lowKbps: number
  highKbps: number
}

export interface SideFigures {
  g2g_p50_ms: number | null
  g2g_p95_ms: number | null
  freezes_per_min: number | null
  frozen_ms: number | null
  rx_fps: number | null
  rx_kbps: number | null
  audio_concealed_ratio: number | null
  adapt_down_s?: number | null
  recover_s?: number | null
}

/** Freezes are gaps of at least this long between two rendered frames (issue 12). */
export const FREEZE_GAP_MS = 500
/** How long the send rate must stay past a threshold to count as having crossed it. */
const HOLD_MS = 1000
const GRID_MS = 100

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/**
 * Glass-to-glass of each frame the receiver rendered in [fromMs, toMs]: matched with the sender's latest
 * sighting of the same code before it, no older than `maxAgeMs` (half the fake camera file's loop, so a code
 * is never matched with the previous pass through the file).
 */
export function latencies(
  sent: readonly Sighting[],
  received: readonly Sighting[],
  fromMs: number,
  toMs: number,
  maxAgeMs: number,
): number[] {
  const out: number[] = []
  for (const [code, at] of received) {
    if (at < fromMs || at > toMs) continue
    let best: number | undefined
    for (const [sentCode, sentAt] of sent) if (sentCode === code && sentAt <= at) best = sentAt
    if (best !== undefined && at - best < maxAgeMs) out.push(at - best)
  }
  return out
}

/** Each gap of ≥ FREEZE_GAP_MS between rendered frames in the window (its edges count as frames). */
export function freezeGaps(
  received: readonly Sighting[],
  fromMs: number,
  toMs: number,
): { atMs: number; gapMs: number }[] {
  const times = [fromMs, ...received.map(([, at]) => at).filter((at) => at > fromMs && at < toMs), toMs]
  const out: { atMs: number; gapMs: number }[] = []
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!
    if (gap >= FREEZE_GAP_MS) out.push({ atMs: times[i - 1]!, gapMs: gap })
  }
  return out
}

/** How many freezes, and how long in all (`freezeGaps`). */
export function freezes(
  received: readonly Sighting[],
  fromMs: number,
  toMs: number,
): { count: number; frozenMs: number } {
  const gaps = freezeGaps(received, fromMs, toMs)
  return { count: gaps.length, frozenMs: gaps.reduce((sum, g) => sum + g.gapMs, 0) }
}

/** Distinct frames rendered per second in the window. */
export function renderedFps(received: readonly Sighting[], fromMs: number, toMs: number): number {
  const frames = received.filter(([, at]) => at >= fromMs && at <= toMs).length
  return frames / ((toMs - fromMs) / 1000)
}

/** The rate of the sample whose interval covers `atMs` (the first sample at or after it); 0 past the end. */
function rateAt(samples: readonly RateSample[], atMs: number): number {
  return samples.find((s) => s.atMs >= atMs)?.kbps ?? 0
}

/** All senders together at `atMs`. */
export function combinedRate(series: readonly (readonly RateSample[])[], atMs: number): number {
  return series.reduce((sum, samples) => sum + rateAt(samples, atMs), 0)
}

/** Mean of the combined rate over [fromMs, toMs), on a 100 ms grid. */
export function meanCombinedRate(
  series: readonly (readonly RateSample[])[],
  fromMs: number,
  toMs: number,
): number {
  let sum = 0
  let n = 0
  for (let t = fromMs; t < toMs; t += GRID_MS, n++) sum += combinedRate(series, t)
  return n === 0 ? 0 : sum / n
}

/**
 * Seconds from `fromMs` until the combined send rate passes `threshold` (`below` or above) and stays there
 * for HOLD_MS, within `untilMs`; null when it never does.
 */
export function secondsUntil(
  series: readonly (readonly RateSample[])[],
  fromMs: number,
  untilMs: number,
  threshold: number,
  direction: 'below' | 'above',
): number | null {
  const passes = (t: number): boolean => {
    const rate = combinedRate(series, t)
    return direction === 'below' ? rate < threshold : rate >= threshold
  }
  for (let t = fromMs; t + HOLD_MS <= untilMs; t += GRID_MS) {
    let held = true
    for (let u = t; u <= t + HOLD_MS; u += GRID_MS) if (!passes(u)) held = false
    if (held) return Math.round((t - fromMs) / 100) / 10
  }
  return null
}

/**
 * `step`: adapt_down_s is how long after the drop the senders together send less than the low capacity;
 * recover_s how long after the return they are back above 80 % of what they sent in the 5 s before the
 * drop, capped at 80 % of the high capacity (a sender whose ceiling is below the link is not held to it).
 */
export function stepFigures(
  series: readonly (readonly RateSample[])[],
  step: StepTimes,
  endMs: number,
): { adapt_down_s: number | null; recover_s: number | null; before_kbps: number } {
  const before = meanCombinedRate(series, step.downAtMs - 5000, step.downAtMs)
  const target = 0.8 * Math.min(before, step.highKbps)
  return {
    adapt_down_s: secondsUntil(series, step.downAtMs, step.upAtMs, step.lowKbps, 'below'),
    recover_s: secondsUntil(series, step.upAtMs, endMs, target, 'above'),
    before_kbps: Math.round(before),
  }
}

const mean = (values: readonly number[]): number | null =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length

const round = (value: number | null | undefined, digits = 0): number | null => {
  if (value === null || value === undefined || !Number.isFinite(value)) return null
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

/** One side's figures: g2g pooled over both directions, the rest the mean of the two receivers. */
export function sideFigures(record: SideRecord, maxAgeMs: number, step?: StepTimes): SideFigures {
  const { fromMs, toMs, directions } = record
  const minutes = (toMs - fromMs) / 60_000
  const g2g = directions.flatMap((d) => latencies(d.sent, d.received, fromMs, toMs, maxAgeMs))
  const frozen = directions.map((d) => freezes(d.received, fromMs, toMs))
  const rx = directions.map((d) => d.rxKbps).filter((v): v is number => v !== null)
  const audio = directions.map((d) => d.audio).filter((a) => a !== null)
  const audioTotal = audio.reduce((sum, a) => sum + a.total, 0)
  const figures: SideFigures = {
    g2g_p50_ms: round(percentile(g2g, 50)),
    g2g_p95_ms: round(percentile(g2g, 95)),
    freezes_per_min: round(mean(frozen.map((f) => f.count / minutes)), 2),
    frozen_ms: round(mean(frozen.map((f) => f.frozenMs))),
    rx_fps: round(mean(directions.map((d) => renderedFps(d.received, fromMs, toMs))), 1),
    rx_kbps: round(mean(rx)),
    audio_concealed_ratio:
      audio.length === 0 || audioTotal === 0
        ? null
        : round(audio.reduce((sum, a) => sum + a.concealed, 0) / audioTotal, 4),
  }
  if (step) {
    const { adapt_down_s, recover_s } = stepFigures(record.txRates, step, toMs)
    figures.adapt_down_s = adapt_down_s
    figures.recover_s = recover_s
  }
  return figures
}
