import type { TemporalLayer } from './layerForwarder'

/**
 * One subscriber's downlink, as the conference server sees it from what that subscriber tells it anyway (its
 * NACKs and RTCP receiver reports: docs/sfu.md "Temporal-layer forwarding"), and the temporal layer that
 * fits it. Pure: time comes in.
 *
 * The loss rule is GCC's (draft-ietf-rmcat-gcc-02 §6, as the publisher's estimator, bwe/lossBased.ts):
 * above `HIGH_LOSS` decrease, between `LOW_LOSS` and `HIGH_LOSS` hold, below `LOW_LOSS` grow. But the
 * server has no delay-based part to tell a full link from a lossy one (the publisher's estimator has its
 * trendline and probes; a subscriber sends no transport-wide feedback), and a link that loses packets at
 * random (Wi-Fi, bench:network's `poor`: 3 %) held every subscriber there on the base layer for good: one
 * unlucky second over 10 % put the estimate at the base layer's rate, and at 3 % it never grew again. So:
 *
 * - Loss is judged over at least `MIN_PACKETS` packets (reports with fewer are merged into the next): at
 *   3 % random loss, 20 packets are over 10 % once in 50, 40 packets (with the floor below) once in 900.
 *   A window that loses more than `FAST_LOSS` of at least `FAST_MIN_PACKETS` counts at once: an overflow
 *   at the base layer's few packets a second must not wait seconds.
 * - Random loss is what the link loses without a queue: `randomLoss`, learned (a moving average, at most
 *   `MAX_RANDOM_LOSS`) from the windows where neither the round trip nor the jitter shows a queue. The
 *   thresholds apply to the loss above it. Loss that comes with a growing queue (a drop-tail bottleneck
 *   loses only when its queue is full) is not learned, nor is loss that rises with the rate forwarded
 *   (more than `HIGH_LOSS` above what the link lost at a lower rate), so congestion still decreases.
 * - Above the threshold, the estimate drops to what the link delivered (sent × (1 − loss)): on a shaped
 *   link, its capacity, measured in one window. That rate is a ceiling the estimate may not grow past for a
 *   while (`CEILING_MS`, doubled after each time it failed again, up to `MAX_CEILING_MS`): the next try is
 *   the only way to learn the link got better (the server cannot probe: it only has the publisher's
 *   packets to send), and each try costs a window of loss.
 * - Below it, grow 8 %/s from what was sent, unless the round trip or the jitter shows a queue building
 *   (above its floor by `QUEUE_RTT_MS` or `QUEUE_JITTER_MS`).
 * - Before the first lossy window nothing is known and nothing limits (`Infinity`): a subscriber gets
 *   everything, as before layers existed.
 */

const HIGH_LOSS = 0.1
const LOW_LOSS = 0.02
const MIN_PACKETS = 40
const FAST_MIN_PACKETS = 10
const FAST_LOSS = 0.3
const MAX_RANDOM_LOSS = 0.05
/** Weight of one window in the random-loss average (≈ the last 4–5 windows). */
const RANDOM_LOSS_GAIN = 0.25
const GROWTH_PER_S = 1.08
const QUEUE_JITTER_MS = 30
/** A full drop-tail queue is hundreds of ms; RTCP's round trip wanders by the link's jitter (tens). */
const QUEUE_RTT_MS = 80
/** How fast a floor (jitter, round trip) forgets its minimum, ms per second. */
const FLOOR_RISE_MS_PER_S = 1
/** Reports closer together than this are merged into the next (too few packets to count loss by). */
const MIN_INTERVAL_MS = 250
const CEILING_MS = 15_000
const MAX_CEILING_MS = 120_000
/** A ceiling that held this long after it expired: the link is fine again, tries start short again. */
const CALM_MS = 30_000

export interface LossSample {
  /** Packets sent since the previous sample that the subscriber's link lost (not those lost upstream). */
  lost: number
  /** Interarrival jitter, ms (RFC 3550, from its receiver report). */
  jitterMs: number
  /** Round trip to the subscriber (RTCP), ms, when measured. */
  rttMs?: number
}

export class DownlinkEstimate {
  private estimate = Number.POSITIVE_INFINITY
  /** The window being counted: bytes and packets sent, packets lost, since `since`. */
  private sentBytes = 0
  private sentPackets = 0
  private lostPackets = 0
  private since: number | undefined
  private lastReportAt: number | undefined
  private ceiling = Number.POSITIVE_INFINITY
  private ceilingUntil = Number.NEGATIVE_INFINITY
  private ceilingMs = CEILING_MS
  private jitterFloorMs = Number.POSITIVE_INFINITY
  private rttFloorMs = Number.POSITIVE_INFINITY
  private randomLossValue = 0

  /** One packet of `bytes` sent to this subscriber (the window starts at the first). */
  onSent(bytes: number, nowMs: number): void {
    this.since ??= nowMs
    this.sentBytes += bytes
    this.sentPackets += 1
  }

  /** bit/s; Infinity until a lossy window limits it. */
  get bitrate(): number {
    return this.estimate
  }

  /** The loss fraction taken as the link's own, not congestion (0..MAX_RANDOM_LOSS). */
  get randomLoss(): number {
    return this.randomLossValue
  }

  onReport(sample: LossSample, nowMs: number): number {
    if (this.since === undefined) return this.estimate
    this.lostPackets += sample.lost
    const queue = this.queueBuilding(sample, nowMs)
    const dtMs = nowMs - this.since
    const loss = this.lostPackets / Math.max(this.sentPackets, 1)
    const enough =
      this.sentPackets >= MIN_PACKETS || (this.sentPackets >= FAST_MIN_PACKETS && loss > FAST_LOSS)
    if (dtMs < MIN_INTERVAL_MS || !enough) return this.estimate
    const sentBps = (this.sentBytes * 8000) / dtMs
    this.sentBytes = 0
    this.sentPackets = 0
    this.lostPackets = 0
    this.since = nowMs
    const excess = loss - this.randomLossValue
    if (excess > HIGH_LOSS) {
      this.lossy(sentBps * (1 - loss), nowMs)
      return this.estimate
    }
    if (!queue)
      this.randomLossValue += RANDOM_LOSS_GAIN * (Math.min(loss, MAX_RANDOM_LOSS) - this.randomLossValue)
    if (excess < LOW_LOSS) this.clean(sentBps, queue, dtMs, nowMs)
    return this.estimate
  }

  /** Updates the jitter and round-trip floors; true when either is well above its floor (a queue). */
  private queueBuilding(sample: LossSample, nowMs: number): boolean {
    const riseMs =
      this.lastReportAt === undefined ? 0 : ((nowMs - this.lastReportAt) / 1000) * FLOOR_RISE_MS_PER_S
    this.lastReportAt = nowMs
    this.jitterFloorMs = Math.min(this.jitterFloorMs + riseMs, sample.jitterMs)
    let queue = sample.jitterMs > this.jitterFloorMs + QUEUE_JITTER_MS
    if (sample.rttMs !== undefined) {
      this.rttFloorMs = Math.min(this.rttFloorMs + riseMs, sample.rttMs)
      queue ||= sample.rttMs > this.rttFloorMs + QUEUE_RTT_MS
    }
    return queue
  }

  private lossy(deliveredBps: number, nowMs: number): void {
    this.estimate = Math.min(this.estimate, deliveredBps)
    if (nowMs >= this.ceilingUntil && this.ceiling !== Number.POSITIVE_INFINITY) {
      this.ceilingMs = Math.min(this.ceilingMs * 2, MAX_CEILING_MS) // the last try failed
    }
    this.ceiling = deliveredBps
    this.ceilingUntil = nowMs + this.ceilingMs
  }

  private clean(sentBps: number, queue: boolean, dtMs: number, nowMs: number): void {
    if (nowMs >= this.ceilingUntil + CALM_MS) this.ceilingMs = CEILING_MS
    if (this.estimate === Number.POSITIVE_INFINITY || queue) return
    // A window is up to a few seconds at a base layer's packet rate; longer is a pause, not evidence.
    let next = Math.max(this.estimate, sentBps) * GROWTH_PER_S ** (Math.min(dtMs, 5000) / 1000)
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
