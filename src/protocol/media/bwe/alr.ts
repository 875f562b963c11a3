import { AckedRate } from './ackedRate'

/**
 * Application-limited region (ALR): the sender has been sending well under its target for a while, e.g. a
 * camera whose content needs 60 kbit/s under a 300 kbit/s target. Then the acknowledged rate says what the
 * content costs, not what the link carries, and an estimate built on it rots: AIMD increases are capped at
 * 1.5 × acked, a (false) overuse decreases to 0.85 × acked, and ramp-up probes wait for the sender to fill
 * the target. libwebrtc's answer, followed here: detect the region and probe periodically while in it
 * (probe.ts), and keep a delay-based decrease there from sinking far below the start value (aimd.ts).
 * Measured on media only: probe packets are ours, not the application's.
 */

/** In the region when media acked is under this share of the target... */
export const ALR_SHARE = 0.65
/** ...without a break for this long. */
export const ALR_MIN_MS = 500

export class AlrDetector {
  private readonly media = new AckedRate()
  private underSinceMs: number | null = null

  /** A media (not probe) packet the receiver got, on its clock. */
  add(arrivalMs: number, bytes: number): void {
    this.media.add(arrivalMs, bytes)
  }

  /** After each report: compares what media the receiver got with the target. */
  update(targetBps: number, nowMs: number): void {
    const acked = this.media.bitrate()
    if (acked !== null && acked < ALR_SHARE * targetBps) this.underSinceMs ??= nowMs
    else this.underSinceMs = null
  }

  active(nowMs: number): boolean {
    return this.underSinceMs !== null && nowMs - this.underSinceMs >= ALR_MIN_MS
  }
}
