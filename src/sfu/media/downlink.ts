import type { TemporalLayer } from './layerForwarder'

/**
 * One subscriber's downlink, as the conference server sees it from that subscriber's RTCP receiver reports
 * (docs/sfu.md "Temporal-layer forwarding"), and the temporal layer that fits it. Pure: time comes in.
 *
 * Why receiver reports: every client sends them (werift about once a second, Chromium too), with no
 * negotiation; they carry the loss fraction since the previous report and the interarrival jitter. What
 * the server sent in the same interval is known here, so a lossy interval gives the rate the link
 * delivered: sent × (1 − loss). On a rate-limited link (a shaper or a full bottleneck queue) that is its
 * capacity, measured in one report, so the way down is one report (≈ 1 s) long.
 *
 * - Loss above `HIGH_LOSS`: the estimate drops to the delivered rate, which becomes a ceiling the estimate
 *   may not grow past for a while (`ceilingMs`, doubled after each time it failed again, up to
 *   `MAX_CEILING_MS`): the next try is the only way to learn the link got better (the server cannot
 *   probe: it only has the publisher's packets to send), and each try costs a second of loss.
 * - Loss between `LOW_LOSS` and `HIGH_LOSS` (Wi-Fi has some anyway): hold.
 * - Below `LOW_LOSS`: grow 8 %/s from what was sent, unless the jitter shows a queue building (above
 *   its floor by `QUEUE_JITTER_MS`).
 * - Before the first lossy report nothing is known and nothing limits (`Infinity`): a subscriber gets
 *   everything, as before layers existed.
 */

const HIGH_LOSS = 0.1
const LOW_LOSS = 0.02
const GROWTH_PER_S = 1.08
const QUEUE_JITTER_MS = 30
/** Reports closer together than this are merged into the next (too few packets to count loss by). */
const MIN_INTERVAL_MS = 250
const CEILING_MS = 15_000
const MAX_CEILING_MS = 120_000
/** A ceiling that held this long after it expired: the link is fine again, tries start short again. */
const CALM_MS = 30_000

export interface ReceiverReportSample {
  /** RFC 3550 "fraction lost", 0..1, since the previous report. */
  fractionLost: number
  /** Interarrival jitter, ms. */
  jitterMs: number
}

export class DownlinkEstimate {
  private estimate = Number.POSITIVE_INFINITY
  private sentBytes = 0
  private since: number | undefined
  private ceiling = Number.POSITIVE_INFINITY
  private ceilingUntil = Number.NEGATIVE_INFINITY
  private ceilingMs = CEILING_MS
  private jitterFloorMs = Number.POSITIVE_INFINITY

  /** Bytes sent to this subscriber (the interval starts at the first). */
  onSent(bytes: number, nowMs: number): void {
    this.since ??= nowMs
    this.sentBytes += bytes
  }

  /** bit/s; Infinity until a report limits it. */
  get bitrate(): number {
    return this.estimate
  }

  onReport(report: ReceiverReportSample, nowMs: number): number {
    if (this.since === undefined) return this.estimate
    const dtMs = nowMs - this.since
    if (dtMs < MIN_INTERVAL_MS) return this.estimate
    const sentBps = (this.sentBytes * 8000) / dtMs
    this.sentBytes = 0
    this.since = nowMs
    this.jitterFloorMs = Math.min(this.jitterFloorMs + dtMs / 1000, report.jitterMs)
    if (report.fractionLost > HIGH_LOSS) this.lossy(sentBps * (1 - report.fractionLost), nowMs)
    else if (report.fractionLost < LOW_LOSS) this.clean(sentBps, report.jitterMs, dtMs, nowMs)
    return this.estimate
  }

  private lossy(deliveredBps: number, nowMs: number): void {
    this.estimate = Math.min(this.estimate, deliveredBps)
    if (nowMs >= this.ceilingUntil && this.ceiling !== Number.POSITIVE_INFINITY) {
      this.ceilingMs = Math.min(this.ceilingMs * 2, MAX_CEILING_MS) // the last try failed
    }
    this.ceiling = deliveredBps
    this.ceilingUntil = nowMs + this.ceilingMs
  }

  private clean(sentBps: number, jitterMs: number, dtMs: number, nowMs: number): void {
    if (nowMs >= this.ceilingUntil + CALM_MS) this.ceilingMs = CEILING_MS
    if (this.estimate === Number.POSITIVE_INFINITY) return
    if (jitterMs > this.jitterFloorMs + QUEUE_JITTER_MS) return
    let next = Math.max(this.estimate, sentBps) * GROWTH_PER_S ** (Math.min(dtMs, 2000) / 1000)
    if (nowMs < this.ceilingUntil) next = Math.min(next, Math.max(this.ceiling, this.estimate))
    this.estimate = next
  }
}

/** Share of the estimate the forwarded video may use (audio, RTCP and retransmissions share the link). */
const HEADROOM = 0.85
/** A higher layer must fit this long before the subscriber is switched up. */
export const UP_HOLD_MS = 4000

/**
 * The highest temporal layer whose cumulative rate (its frames and all below) fits the estimate. Down at
 * once; up only once it has fit for `UP_HOLD_MS` without a break, so one good report does not flip a
 * subscriber up into loss and back. The base layer is the floor: below it the server cannot help.
 */
export class LayerSelector {
  private current: TemporalLayer = 2
  private fitsSince: number | undefined

  constructor(private readonly upHoldMs = UP_HOLD_MS) {}

  get layer(): TemporalLayer {
    return this.current
  }

  /** `cumulativeBps[l]`: the publisher's rate of layers 0..l. */
  choose(estimateBps: number, cumulativeBps: readonly number[], nowMs: number): TemporalLayer {
    let fit: TemporalLayer = 0
    for (const layer of [1, 2] as const) {
      if ((cumulativeBps[layer] ?? Number.POSITIVE_INFINITY) <= estimateBps * HEADROOM) fit = layer
    }
    if (fit < this.current) {
      this.current = fit
      this.fitsSince = undefined
    } else if (fit > this.current) {
      this.fitsSince ??= nowMs
      if (nowMs - this.fitsSince >= this.upHoldMs) {
        this.current = fit
        this.fitsSince = undefined
      }
    } else {
      this.fitsSince = undefined
    }
    return this.current
  }
}
