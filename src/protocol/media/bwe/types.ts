/**
 * The sender-side bandwidth estimator's inputs and outputs (docs/engine.md "Bandwidth estimation"). Times are
 * milliseconds on one clock the caller injects: the estimator never reads a timer, so it is tested as a table
 * against a simulated link. Send times are ours; arrival times are the receiver's clock (transport-wide
 * feedback), which only ever enters as differences, so the two clocks need no common origin.
 */

/** One packet of a transport-wide feedback report. */
export interface PacketResult {
  /** When we sent it, on our clock. */
  sendTimeMs: number
  /** Its size on the wire, in bytes. */
  sizeBytes: number
  /** When the receiver saw it, on the receiver's clock; null if the report says it was lost. */
  arrivalTimeMs: number | null
  /** The probe cluster it belongs to (see `ProbeRequest`), if it was sent as part of a probe. */
  probeId?: number
}

/** One feedback report: the packets it covers, in send order. */
export interface FeedbackReport {
  packets: readonly PacketResult[]
}

/** What the delay detector concludes about the bottleneck queue (draft-ietf-rmcat-gcc-02 §5.4). */
export type BandwidthUsage = 'normal' | 'overuse' | 'underuse'

/** A request to send `bitrateBps` for `durationMs`, packets tagged with `id`, to find out whether it fits. */
export interface ProbeRequest {
  id: number
  bitrateBps: number
  durationMs: number
}

export interface EstimatorOptions {
  startBps: number
  minBps: number
  maxBps: number
}

export const ESTIMATOR_DEFAULTS: EstimatorOptions = { startBps: 300_000, minBps: 30_000, maxBps: 4_000_000 }

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}
