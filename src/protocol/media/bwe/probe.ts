import type { PacketResult, ProbeRequest } from './types'

/**
 * Ramp-up after a drop. AIMD alone climbs back at 8 %/s (from 400 kbit/s to 3 Mbit/s takes half a minute),
 * so once the estimate has fallen well below its earlier peak and the detector has been calm for
 * `CALM_MS`, we ask the sender for a short burst at twice the estimate. What the receiver measured for that
 * burst (the lower of its send and receive rates) is a fact about the link: if it beats the estimate, the
 * estimate jumps to it and the next probe doubles again. A probe that does not fit costs `DURATION_MS` of
 * queue; probes that fail back off to one every `MAX_INTERVAL_MS`. Ramp-up ends at the earlier peak.
 */

const DROP_RATIO = 0.7
const CALM_MS = 1_000
const MIN_INTERVAL_MS = 500
const MAX_INTERVAL_MS = 5_000
const DURATION_MS = 100
const MIN_PACKETS = 5
const PACKET_BITS = 1200 * 8
/** How long after a drop we keep probing towards the earlier peak before taking the drop as the new normal. */
const RAMP_WINDOW_MS = 60_000
/**
 * Application-limited (alr.ts): a probe at twice the estimate this often, and sooner after one that
 * succeeded (probing further, doubling), as libwebrtc's periodic ALR probing does: the content does not
 * fill the target, so only probes can show what the link allows.
 */
export const ALR_PROBE_INTERVAL_MS = 5_000

interface Cluster {
  request: ProbeRequest
  startMs: number
  /** Sent because the sender was application-limited. */
  alr: boolean
  packets: { sendMs: number; arrivalMs: number; bytes: number }[]
}

export class ProbeController {
  private peakBps = 0
  private rampTargetBps: number | null = null
  private rampStartMs = 0
  /** Start-up: probe upwards from the start value until a probe no longer fits. */
  private startup = true
  private nextId = 1
  private lastProbeMs = -Infinity
  private intervalMs = MIN_INTERVAL_MS
  private alrIntervalMs = 0
  private pending: Cluster | null = null
  /** What the last cluster that measured anything measured, and when: evidence of what the link carries. */
  private measured: { bps: number; atMs: number } | null = null

  /**
   * Tracks the estimate. The peak only counts what the receiver confirmed (the acked rate), so an
   * unproven start value is no peak to ramp back to; a fall below `DROP_RATIO` × peak starts ramp-up.
   */
  onEstimate(bps: number, ackedBps: number, nowMs: number): void {
    const expired = nowMs - this.rampStartMs > RAMP_WINDOW_MS
    if (this.rampTargetBps !== null && (bps >= 0.95 * this.rampTargetBps || expired)) {
      this.rampTargetBps = null
      this.peakBps = Math.min(bps, ackedBps)
    }
    if (this.rampTargetBps !== null) return
    if (bps < DROP_RATIO * this.peakBps) {
      this.rampTargetBps = this.peakBps
      this.rampStartMs = nowMs
      this.intervalMs = MIN_INTERVAL_MS
    } else {
      this.peakBps = Math.max(this.peakBps, Math.min(bps, ackedBps))
    }
  }

  /**
   * A probe to send now, or null: in start-up (until a probe fails) or ramp-up, once the delay-based part
   * has not decreased since `calmSinceMs` + `CALM_MS`, and only while the link carries what we send now
   * (probing above a target the receiver does not even get would only measure the queue). While
   * `appLimited` the last condition cannot hold and is not asked: one every ALR_PROBE_INTERVAL_MS, or
   * MIN_INTERVAL_MS after one that succeeded.
   */
  decide(
    estimateBps: number,
    ackedBps: number,
    calmSinceMs: number,
    nowMs: number,
    appLimited = false,
  ): ProbeRequest | null {
    if (this.pending !== null || nowMs - calmSinceMs < CALM_MS) return null
    const alr = appLimited && nowMs - this.lastProbeMs >= this.alrIntervalMs
    if (!alr) {
      if (!this.startup && this.rampTargetBps === null) return null
      if (ackedBps < 0.8 * estimateBps || nowMs - this.lastProbeMs < this.intervalMs) return null
    }
    const bitrateBps = 2 * estimateBps
    const durationMs = Math.max(DURATION_MS, ((MIN_PACKETS + 1) * PACKET_BITS * 1000) / bitrateBps)
    const request = { id: this.nextId++, bitrateBps, durationMs }
    this.pending = { request, startMs: nowMs, alr, packets: [] }
    this.lastProbeMs = nowMs
    return request
  }

  /** The rate a cluster sent since `sinceMs` measured (the highest of the last one's), or null. */
  measuredSince(sinceMs: number): number | null {
    return this.measured !== null && this.measured.atMs >= sinceMs ? this.measured.bps : null
  }

  /** Feeds reported packets; returns the probed rate once the cluster is complete, else null. */
  onPackets(packets: readonly PacketResult[], estimateBps: number): number | null {
    const cluster = this.pending
    if (cluster === null) return null
    let complete = false
    for (const p of packets) {
      if (p.probeId === cluster.request.id && p.arrivalTimeMs !== null) {
        cluster.packets.push({ sendMs: p.sendTimeMs, arrivalMs: p.arrivalTimeMs, bytes: p.sizeBytes })
      }
      if (p.sendTimeMs > cluster.startMs + cluster.request.durationMs && p.probeId !== cluster.request.id) {
        complete = true
      }
    }
    if (!complete) return null
    this.pending = null
    const { bps: measured, saturated } = clusterRate(cluster)
    if (measured !== null) this.measured = { bps: measured, atMs: cluster.startMs }
    const succeeded = measured !== null && measured > estimateBps * 1.1
    // Start-up ends once the link could not keep up with a probe: its capacity is found.
    if (!succeeded || saturated) this.startup = false
    if (cluster.alr) this.alrIntervalMs = succeeded ? MIN_INTERVAL_MS : ALR_PROBE_INTERVAL_MS
    else this.intervalMs = succeeded ? MIN_INTERVAL_MS : Math.min(this.intervalMs * 2, MAX_INTERVAL_MS)
    return succeeded ? measured : null
  }
}

/**
 * What a cluster measured: the receive rate, or 95 % of it when the link could not keep up with the send
 * rate (the receive rate is then the link's, with its queue full: aim just under it).
 */
function clusterRate(cluster: Cluster): { bps: number | null; saturated: boolean } {
  const p = cluster.packets
  const none = { bps: null, saturated: false }
  if (p.length < MIN_PACKETS) return none
  const bits = p.slice(1).reduce((sum, x) => sum + x.bytes * 8, 0)
  const sendSpan = Math.max(...p.map((x) => x.sendMs)) - Math.min(...p.map((x) => x.sendMs))
  const recvSpan = Math.max(...p.map((x) => x.arrivalMs)) - Math.min(...p.map((x) => x.arrivalMs))
  if (sendSpan <= 0 || recvSpan <= 0) return none
  const sendBps = (bits * 1000) / sendSpan
  const recvBps = (bits * 1000) / recvSpan
  const saturated = recvBps < 0.9 * sendBps
  return { bps: saturated ? 0.95 * recvBps : Math.min(sendBps, recvBps), saturated }
}
