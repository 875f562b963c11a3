/**
 * Keeps what the video encoder sends at the bitrate asked of it (docs/media.md "Encoders that follow the
 * target"). Chromium's VP8 encoder, reconfigured down in place, settles above its new bitrate: 12–20 % in
 * the acceptance test (a fresh encoder hits it), and on a full link every excess bit is queueing delay.
 * So the sender measures its delta frames over each window and scales what it asks by what came out, never
 * above the budget. Pure: time is passed in.
 */

/** How long the output is measured before the scale moves. */
export const TRIM_WINDOW_MS = 1_000
/** Output this soon after a reconfiguration still follows the old settings: not measured. */
export const TRIM_SETTLE_MS = 500
/** Never ask for less than this share of the budget (an encoder at its coarsest quantizer cannot follow). */
export const MIN_TRIM = 0.6

export class RateTrim {
  private trim = 1
  private windowStartMs: number
  private bits = 0
  private lastSentBps: number | null = null

  constructor(nowMs: number) {
    this.windowStartMs = nowMs + TRIM_SETTLE_MS
  }

  /** The share of the budget to ask the encoder for. */
  get scale(): number {
    return this.trim
  }

  /**
   * What the encoder sent over the window that closed since the last call (delta frames, bit/s), once; null
   * when none closed. The send ladder steps down only when this is close to the budget (logic/sendLadder.ts).
   */
  takeMeasurement(): number | null {
    const sent = this.lastSentBps
    this.lastSentBps = null
    return sent
  }

  /** The encoder was reconfigured; `resize`: a new size or frame rate, where the old measure says nothing. */
  reconfigured(nowMs: number, resize: boolean): void {
    if (resize) this.trim = 1
    this.windowStartMs = nowMs + TRIM_SETTLE_MS
    this.bits = 0
  }

  /**
   * A chunk came out at `nowMs`, the budget being `budgetBps`. Key frames are not counted (one in a
   * window would look like a lasting overshoot). Returns whether the scale moved.
   */
  onChunk(bytes: number, keyFrame: boolean, budgetBps: number, nowMs: number): boolean {
    if (nowMs < this.windowStartMs) return false
    const bits = keyFrame ? 0 : bytes * 8
    const elapsed = nowMs - this.windowStartMs
    if (elapsed < TRIM_WINDOW_MS) {
      this.bits += bits
      return false
    }
    // The window is [start, now): this chunk opens the next one.
    const sentBps = (this.bits * 1000) / elapsed
    this.windowStartMs = nowMs
    this.bits = bits
    if (sentBps <= 0) return false
    this.lastSentBps = sentBps
    // Half the step (in ratio): the encoder's own rate control is still at work, and one busy second of
    // content is not a lasting bias.
    const next = Math.min(1, Math.max(MIN_TRIM, this.trim * Math.sqrt(budgetBps / sentBps)))
    const moved = next !== this.trim
    this.trim = next
    return moved
  }
}
