import type { TemporalLayer } from './layerForwarder'

/**
 * One subscriber's downlink, as the conference server sees it from what that subscriber tells it anyway (its
 * NACKs and RTCP receiver reports: docs/sfu.md "Temporal-layer forwarding"), and the temporal layer that
 * fits it. Pure: time comes in.
 *
 * The loss rule is GCC's (draft-ietf-rmcat-gcc-02 §6, as the publisher's estimator, bwe/lossBased.ts):
 * above `HIGH_LOSS` decrease, between `LOW_LOSS` and `HIGH_LOSS` hold, below `LOW_LOSS` grow. But the
 * server has only the RTCP round trip to tell a full link from a lossy one (the publisher's estimator has
 * its trendline and probes; a subscriber sends no transport-wide feedback), and a link that loses packets
 * at random (Wi-Fi, bench:network's `poor`: 3 %) must not hold a subscriber on the base layer. So:
 *
 * - Loss is judged over at least `MIN_PACKETS` packets (reports with fewer are merged into the next): at
 *   3 % random loss, 20 packets are over 10 % once in 50, 40 packets (with the floor below) once in 900.
 *   A window that loses more than `FAST_LOSS` of at least `FAST_MIN_PACKETS` counts at once: an overflow
 *   at the base layer's few packets a second must not wait seconds.
 * - The only delay signal is the round trip (RTCP), above its floor by `QUEUE_RTT_MS`: a drop-tail queue
 *   shows there. Not the receiver reports' jitter: RFC 3550 jitter is the spread of transit times between
 *   consecutive packets, which grows when fewer frames are forwarded (a frame's paced packets share one
 *   timestamp, the frames are further apart) and when the receiving engine is short of CPU (41–183 ms in
 *   bench:network's `poor` on a link with 20): read as a queue, it held a thinned subscriber down for good.
 *   (GCC's delay signal is transport-wide feedback's arrival times; our subscribers do not send it yet.)
 * - Random loss is what the link loses without a queue: `randomLoss`, learned (a moving average, at most
 *   `MAX_RANDOM_LOSS`) from the windows where the round trip shows no queue. The thresholds apply to the
 *   loss above it. Loss that comes with a growing queue (a drop-tail bottleneck loses only when its queue
 *   is full) is not learned, nor is loss that rises with the rate forwarded (more than `HIGH_LOSS` above
 *   what the link lost at a lower rate), so congestion still decreases.
 * - Above the threshold, a decrease as GCC's: with the round trip showing a queue (its delay-based part
 *   detecting overuse) to what the link delivered (sent × (1 − loss): a shaped link's capacity, in one
 *   window); without, its loss-based decrease: the estimate (or what was sent, when lower) × (1 − loss / 2),
 *   not below what was delivered. `carried` is the rate the link carried with no window over the threshold
 *   and no queue for `CARRIED_MS` and more (what was sent over those windows):
 *   - loss over it (a try at a higher layer, a key frame's burst) says the excess did not fit, not the
 *     carried rate: the estimate goes no lower than it, and the result is a ceiling the estimate may not
 *     grow past for a while (`CEILING_MS`, doubled after each time it failed again, up to
 *     `MAX_CEILING_MS`; none when the floor left the estimate where it was: no try failed, and a key
 *     frame's burst at the layer forwarded all along must not hold it there for minutes). The next try
 *     is the only way to learn the link got better (the server cannot probe: it only has the publisher's
 *     packets to send; going up a layer is its probe), and each try costs a window of loss. The one
 *     window after such a loss, draining its queue, is taken the same way.
 *   - loss at it otherwise says the link got worse: the decrease alone, the carried rate
 *     forgotten, and no ceiling (if the link stays worse, its next loss is over no carried rate, a try).
 *   One lossy second in `poor` used to put a subscriber on the base layer at the delivered rate, with a
 *   15 s ceiling, and the jitter then held it there.
 * - Below it, grow 8 %/s from what was sent, unless the round trip shows a queue building.
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
/** A full drop-tail queue is hundreds of ms; RTCP's round trip wanders by the link's jitter (tens). */
const QUEUE_RTT_MS = 80
/** How fast the round trip's floor forgets its minimum, ms per second. */
const FLOOR_RISE_MS_PER_S = 1
/** Reports closer together than this are merged into the next (too few packets to count loss by). */
const MIN_INTERVAL_MS = 250
const CEILING_MS = 15_000
/** Clean windows in a row this long make what they sent the rate the link carries. */
const CARRIED_MS = 4000
/**
 * Sent within this of the carried rate: the loss happened at the carried rate, not above it. Also the
 * floor's allowance: the rate per window and the publisher's layer rates over 2 s differ by a few %.
 */
const CARRIED_MARGIN = 1.05
const MAX_CEILING_MS = 120_000
/** A ceiling that held this long after it expired: the link is fine again, tries start short again. */
const CALM_MS = 30_000

export interface LossSample {
  /** Packets sent since the previous sample that the subscriber's link lost (not those lost upstream). */
  lost: number
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
  private rttFloorMs = Number.POSITIVE_INFINITY
  private randomLossValue = 0
  /** The rate proven clean (0: none), and the clean stretch being measured: its length and bits sent. */
  private carried = 0
  private cleanMs = 0
  private cleanBits = 0
  /** The last window lost over the carried rate: this one may still drain the queue that loss filled. */
  private drainNext = false

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
      this.lossy(sentBps, loss, queue, dtMs, nowMs)
      return this.estimate
    }
    if (!queue)
      this.randomLossValue += RANDOM_LOSS_GAIN * (Math.min(loss, MAX_RANDOM_LOSS) - this.randomLossValue)
    this.drainNext = false
    this.trackCarried(sentBps, dtMs, !queue)
    if (excess < LOW_LOSS) this.clean(sentBps, queue, dtMs, nowMs)
    return this.estimate
  }

  /** The rate the link carries: what was sent over clean windows in a row, once they span `CARRIED_MS`. */
  private trackCarried(sentBps: number, dtMs: number, clean: boolean): void {
    if (!clean) {
      this.cleanMs = 0
      this.cleanBits = 0
      return
    }
    this.cleanMs += dtMs
    this.cleanBits += (sentBps * dtMs) / 1000
    if (this.cleanMs >= CARRIED_MS)
      this.carried = Math.max(this.carried, (this.cleanBits * 1000) / this.cleanMs)
  }

  /** Updates the round trip's floor; true when the round trip is well above it (a queue). */
  private queueBuilding(sample: LossSample, nowMs: number): boolean {
    const riseMs =
      this.lastReportAt === undefined ? 0 : ((nowMs - this.lastReportAt) / 1000) * FLOOR_RISE_MS_PER_S
    this.lastReportAt = nowMs
    if (sample.rttMs === undefined) return false
    this.rttFloorMs = Math.min(this.rttFloorMs + riseMs, sample.rttMs)
    return sample.rttMs > this.rttFloorMs + QUEUE_RTT_MS
  }

  private lossy(sentBps: number, loss: number, queue: boolean, dtMs: number, nowMs: number): void {
    const drain = this.drainNext
    this.drainNext = false
    this.trackCarried(sentBps, dtMs, false)
    const delivered = sentBps * (1 - loss)
    // With a queue (overuse, GCC's delay-based part): what got through; without: GCC's loss-based decrease.
    const decreased = queue
      ? delivered
      : Math.max(Math.min(this.estimate, sentBps) * (1 - loss / 2), delivered)
    if (sentBps <= this.carried * CARRIED_MARGIN && !drain) {
      // Lost at a rate the link carried, after a clean window: the link got worse (for now). GCC's
      // decrease, and no ceiling: if it stays worse the next loss is over no carried rate, a failed try.
      this.carried = 0
      this.estimate = Math.min(this.estimate, decreased)
      return
    }
    // Over the carried rate (or the queue a try filled, draining): the excess did not fit, the rest does.
    // One window drains; loss at the carried rate after it is the link's (a step down keeps losing).
    this.drainNext = !drain
    const before = this.estimate
    this.estimate = Math.min(this.estimate, Math.max(decreased, this.carried * CARRIED_MARGIN))
    // Nothing lowered: a key frame's burst at the rate forwarded all along, no try that failed.
    if (this.estimate >= before) return
    if (nowMs >= this.ceilingUntil && this.ceiling !== Number.POSITIVE_INFINITY) {
      this.ceilingMs = Math.min(this.ceilingMs * 2, MAX_CEILING_MS) // the last try failed
    }
    this.ceiling = this.estimate
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

/** A higher layer must fit this long before the subscriber is switched up. */
export const UP_HOLD_MS = 4000

/**
 * The highest temporal layer whose cumulative rate (its frames and all below) fits the estimate. Both are
 * the forwarded video's RTP bytes (payload and fixed header: `LayerRates`, `SubscriberVideo`), and the
 * estimate comes from what the link delivered of that video beside the subscriber's audio and RTCP, so
 * they are compared as they are: a further 15 % off the estimate for audio (as until now) counted the
 * audio twice, and a link that had just carried layers 0–1 was judged unable to. Down at
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
      if ((cumulativeBps[layer] ?? Number.POSITIVE_INFINITY) <= estimateBps) fit = layer
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
