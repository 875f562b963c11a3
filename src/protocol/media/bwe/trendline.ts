/**
 * The trendline filter: GCC's delay gradient estimate. draft-ietf-rmcat-gcc-02 §5.3 specifies a Kalman
 * filter; deployed GCC (libwebrtc) replaced it with a least-squares slope over a window of smoothed
 * accumulated delay, which reacts sooner to a queue that starts to build. We follow the deployed variant:
 * accumulate d, smooth it exponentially, fit a line against arrival time over the last `WINDOW` groups.
 * The slope (ms of queue growth per ms) is scaled by the sample count and a gain so that the overuse
 * detector's thresholds (in ms) apply to it.
 */

const WINDOW = 20
const SMOOTHING = 0.9
const GAIN = 4
const MAX_SAMPLES_FOR_GAIN = 60

export class Trendline {
  private accumulatedMs = 0
  private smoothedMs = 0
  private firstArrivalMs: number | null = null
  private samples = 0
  private readonly points: { x: number; y: number }[] = []
  private slope = 0

  /** Adds one delay delta; returns the modified trend the detector compares with its threshold. */
  update(delayDeltaMs: number, arrivalMs: number): number {
    this.firstArrivalMs ??= arrivalMs
    this.samples++
    this.accumulatedMs += delayDeltaMs
    this.smoothedMs = SMOOTHING * this.smoothedMs + (1 - SMOOTHING) * this.accumulatedMs
    this.points.push({ x: arrivalMs - this.firstArrivalMs, y: this.smoothedMs })
    if (this.points.length > WINDOW) this.points.shift()
    if (this.points.length === WINDOW) this.slope = linearFitSlope(this.points) ?? this.slope
    return this.modifiedTrend()
  }

  modifiedTrend(): number {
    return Math.min(this.samples, MAX_SAMPLES_FOR_GAIN) * this.slope * GAIN
  }
}

/** Least-squares slope of y over x; null when all x are equal. */
export function linearFitSlope(points: readonly { x: number; y: number }[]): number | null {
  const n = points.length
  const meanX = points.reduce((s, p) => s + p.x, 0) / n
  const meanY = points.reduce((s, p) => s + p.y, 0) / n
  let numerator = 0
  let denominator = 0
  for (const p of points) {
    numerator += (p.x - meanX) * (p.y - meanY)
    denominator += (p.x - meanX) ** 2
  }
  return denominator === 0 ? null : numerator / denominator
}
