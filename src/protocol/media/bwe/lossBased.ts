import { clamp } from './types'

/**
 * The loss-based controller (draft-ietf-rmcat-gcc-02 §6). Loss is counted over at least `MIN_PACKETS`
 * reported packets and `MIN_INTERVAL_MS`, so one report of a few packets cannot swing it: below 2 % the
 * estimate grows by 5 % per `MIN_INTERVAL_MS` (by time, so that a low rate with few packets per window
 * does not climb slower), above 10 % it shrinks by (1 − 0.5 × loss), in between it holds (loss a link has
 * anyway, e.g. Wi-Fi, is no reason to back off nor to push harder). It works on the combined target
 * (`follow`), as deployed GCC does, so that it is the lower of the two only when loss says so.
 */

const MIN_PACKETS = 20
const MIN_INTERVAL_MS = 100
const LOW_LOSS = 0.02
const HIGH_LOSS = 0.1
const INCREASE = 1.05
/** The packets lost in one overflow are reported over several windows: one decrease covers them all. */
const DECREASE_INTERVAL_MS = 300

export class LossBasedControl {
  private rateBps: number
  private sent = 0
  private lost = 0
  private windowStartMs: number | null = null
  private lastLoss = 0
  private lastDecreaseMs = -Infinity

  constructor(
    startBps: number,
    private readonly minBps: number,
    private readonly maxBps: number,
  ) {
    this.rateBps = startBps
  }

  bitrate(): number {
    return this.rateBps
  }

  /** The loss fraction of the last complete window. */
  lossFraction(): number {
    return this.lastLoss
  }

  /** Counts one report's packets; updates the estimate once the window is full. */
  onPackets(sent: number, lost: number, nowMs: number): number {
    this.windowStartMs ??= nowMs
    this.sent += sent
    this.lost += lost
    if (this.sent < MIN_PACKETS || nowMs - this.windowStartMs < MIN_INTERVAL_MS) return this.rateBps
    const loss = this.lost / this.sent
    const elapsedMs = Math.min(nowMs - this.windowStartMs, 1000)
    this.lastLoss = loss
    this.sent = 0
    this.lost = 0
    this.windowStartMs = nowMs
    if (loss < LOW_LOSS) {
      this.rateBps *= INCREASE ** (elapsedMs / MIN_INTERVAL_MS)
    } else if (loss > HIGH_LOSS && nowMs - this.lastDecreaseMs >= DECREASE_INTERVAL_MS) {
      this.rateBps *= 1 - 0.5 * loss
      this.lastDecreaseMs = nowMs
    }
    this.rateBps = clamp(this.rateBps, this.minBps, this.maxBps)
    return this.rateBps
  }

  /** Never above the combined target: growth without loss starts from what we actually send. */
  follow(targetBps: number): void {
    this.rateBps = Math.min(this.rateBps, targetBps)
  }

  /** Raise to a probed rate that carried (a probe with loss above `HIGH_LOSS` would not be trusted). */
  raiseTo(bps: number): void {
    if (this.lastLoss > HIGH_LOSS) return
    this.rateBps = clamp(Math.max(this.rateBps, bps), this.minBps, this.maxBps)
  }
}
