import { clamp, type BandwidthUsage } from './types'

/**
 * The overuse detector with an adaptive threshold (draft-ietf-rmcat-gcc-02 §5.4-5.5). The trend is overuse
 * when it stays above +γ for `OVERUSE_TIME_MS` and is not falling, underuse below −γ, normal in between.
 * γ follows |trend| (up slowly, down faster) so that a competing loss-based TCP flow cannot starve us by
 * keeping the queue permanently full; a spike far above γ does not move it. The gains are the ones deployed
 * with the trendline filter (the draft's k_u/k_d are tuned for its Kalman filter's output).
 */

const OVERUSE_TIME_MS = 10
const K_UP = 0.0087
const K_DOWN = 0.039
const MAX_ADAPT_OFFSET = 15
const MAX_TIME_DELTA_MS = 100

export class OveruseDetector {
  private thresholdMs = 12.5
  private lastUpdateMs: number | null = null
  private overusingMs = -1
  private overuseCount = 0
  private previousTrend = 0
  private state: BandwidthUsage = 'normal'

  /** `sendDeltaMs` is the send-time delta of the group that produced `trend`. */
  detect(trend: number, sendDeltaMs: number, nowMs: number): BandwidthUsage {
    if (trend > this.thresholdMs) {
      this.overusingMs = this.overusingMs === -1 ? sendDeltaMs / 2 : this.overusingMs + sendDeltaMs
      this.overuseCount++
      if (this.overusingMs > OVERUSE_TIME_MS && this.overuseCount > 1 && trend >= this.previousTrend) {
        this.overusingMs = 0
        this.overuseCount = 0
        this.state = 'overuse'
      }
    } else {
      this.overusingMs = -1
      this.overuseCount = 0
      this.state = trend < -this.thresholdMs ? 'underuse' : 'normal'
    }
    this.previousTrend = trend
    this.adaptThreshold(trend, nowMs)
    return this.state
  }

  threshold(): number {
    return this.thresholdMs
  }

  private adaptThreshold(trend: number, nowMs: number): void {
    const last = this.lastUpdateMs ?? nowMs
    this.lastUpdateMs = nowMs
    const magnitude = Math.abs(trend)
    if (magnitude > this.thresholdMs + MAX_ADAPT_OFFSET) return
    const k = magnitude < this.thresholdMs ? K_DOWN : K_UP
    const dt = Math.min(nowMs - last, MAX_TIME_DELTA_MS)
    this.thresholdMs = clamp(this.thresholdMs + k * (magnitude - this.thresholdMs) * dt, 6, 600)
  }
}
