/**
 * The acknowledged bitrate: what the receiver actually got over the last `WINDOW_MS` of its clock, from the
 * feedback. The rate controller decreases relative to it (draft-ietf-rmcat-gcc-02 §5.5: 0.85 × R_hat) and
 * never increases beyond 1.5 × it, so an estimate cannot run away from what the link has shown it carries.
 */

const WINDOW_MS = 500

export class AckedRate {
  private readonly arrivals: { arrivalMs: number; bytes: number }[] = []
  private bytesInWindow = 0
  private latestMs = -Infinity

  add(arrivalMs: number, bytes: number): void {
    this.arrivals.push({ arrivalMs, bytes })
    this.bytesInWindow += bytes
    this.latestMs = Math.max(this.latestMs, arrivalMs)
    while (this.arrivals.length > 0 && this.arrivals[0]!.arrivalMs <= this.latestMs - WINDOW_MS) {
      this.bytesInWindow -= this.arrivals.shift()!.bytes
    }
  }

  /** Bits per second over the window, or null until the window has seen a few packets. */
  bitrate(): number | null {
    if (this.arrivals.length < 5) return null
    const span = this.arrivals[this.arrivals.length - 1]!.arrivalMs - this.arrivals[0]!.arrivalMs
    return (this.bytesInWindow * 8 * 1000) / Math.max(span, WINDOW_MS / 2)
  }
}
