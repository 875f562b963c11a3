import { RtpHeader, RtpPacket } from 'werift'
import { DownlinkEstimate, LayerSelector } from './downlink'
import { LayerForwarder, type TemporalLayer } from './layerForwarder'
import type { LayerMetrics } from './layerMetrics'
import type { LayerRates } from './layerRates'
import { RetransmitPacer } from '../../protocol/media/nackPacing'
import { RetransmitBudget } from './retransmitBudget'
import type { Vp8LayerInfo } from './vp8Layers'

export interface ReceiverReportSample {
  /** RFC 3550 "fraction lost", 0..1, since the previous report. */
  fractionLost: number
  /** Interarrival jitter, ms: not a sign of a queue (downlink.ts), so not used for the estimate. */
  jitterMs: number
  /** The round trip werift measured from this report (its last sender report's LSR/DLSR), ms. */
  rttMs?: number
}

/** RTP fixed header, counted with the payload as what the subscriber's link carries. */
const RTP_HEADER_BYTES = 12
/** How often the estimate and the layer are revisited (about as often as receiver reports come). */
const EVALUATE_MS = 1000
/** A slow subscriber's key frame requests: at most one per this, or per 2 key frames' time on its link. */
const KEYFRAME_REQUEST_MIN_MS = 1000
/** NACKed sequence numbers remembered, to count each loss once: well beyond a few intervals' packets. */
const NACKS_REMEMBERED = 4096
/**
 * ...but never held longer than this. The key frame time is an upper guess: the last key frame's size
 * (often one from before the sender stepped down, several times the next one's) over the estimate of a
 * link that just lost packets (what it delivered of what was sent: after a drop, of the base layer alone,
 * tens of kbit/s), which made it tens of seconds, and a subscriber that lost a key frame stayed frozen that
 * long: in bench:network's `step` no request got through in the 10-20 s at 400 kbit/s.
 */
export const KEYFRAME_REQUEST_MAX_MS = 2000

/**
 * One subscriber's video from a publisher that encodes with temporal layers (docs/sfu.md "Temporal-layer
 * forwarding"): its downlink estimate (from its NACKs and receiver reports) picks the layer, the forwarder
 * drops what is above it and renumbers the rest. werift's sender then adds its own constant offsets to the
 * sequence number and timestamp and keeps the packet, as sent, in its history: a NACK from the subscriber
 * names the renumbered sequence number, which is what the history is keyed by.
 */
export class SubscriberVideo {
  private readonly forwarder = new LayerForwarder()
  private readonly downlink = new DownlinkEstimate()
  private readonly selector = new LayerSelector()
  private readonly retransmits = new RetransmitPacer()
  private readonly budget = new RetransmitBudget()
  /** The current interval: packets sent, sequence numbers first NACKed, the newest receiver report. */
  private intervalStart: number | undefined
  private sentPackets = 0
  private readonly nacked = new Set<number>()
  /** Sequence numbers NACKed before (bounded, oldest first): a NACK repeated later is no new loss. */
  private readonly nackedBefore = new Set<number>()
  /** Sequence numbers left as gaps this interval (lost before the server): NACKs for them are not the link's. */
  private gaps = 0
  /**
   * Gaps of the last interval the subscriber had not NACKed by its end: its NACKs come a round trip (and a
   * queue) later, often in the next interval, where they would count as the link's loss.
   */
  private carriedGaps = 0
  private lastSeq: number | undefined
  /** The newest receiver report's loss on the subscriber's own link (0..1), per packet sent. */
  private reportLoss: number | undefined
  /**
   * Packets forwarded and gaps left since the last receiver report: what its "fraction lost" covers. Its
   * span is the subscriber's (one report every second or more), not this interval: a report that comes
   * just after an upstream loss covers the gaps of the interval before, which that interval has closed.
   */
  private sinceReport = { sent: 0, gaps: 0 }
  private rttMs: number | undefined
  /** The last key frame forwarded (its RTP timestamp, its bytes so far), and this subscriber's last request. */
  private keyframeBytes = 0
  private keyframeTimestamp: number | undefined
  private lastRequestAt = Number.NEGATIVE_INFINITY

  constructor(
    /** The publisher's rate per layer (the Track's). */
    private readonly rates: LayerRates,
    private readonly metrics: LayerMetrics,
  ) {
    metrics.track(this)
  }

  /** The highest layer forwarded now. */
  get layer(): TemporalLayer {
    return this.forwarder.layer
  }

  /** The packet to send in place of `packet` (renumbered, PictureID rewritten), or undefined to drop it. */
  forward(packet: RtpPacket, info: Vp8LayerInfo, nowMs: number): RtpPacket | undefined {
    const decision = this.forwarder.handle({
      sequenceNumber: packet.header.sequenceNumber,
      payload: packet.payload,
    })
    if (!decision.forward) {
      this.metrics.droppedPacket(decision.reason)
      return undefined
    }
    const { sequenceNumber, payload } = decision.packet
    this.countGap(sequenceNumber)
    if (info.keyframe) {
      this.keyframeBytes = 0
      this.keyframeTimestamp = packet.header.timestamp
    }
    if (packet.header.timestamp === this.keyframeTimestamp) this.keyframeBytes += payload.length
    // A new header: the publisher's packet is shared by every subscription. Padding is not forwarded.
    const header = new RtpHeader({ ...packet.header, sequenceNumber, padding: false, paddingSize: 0 })
    const out = new RtpPacket(header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength))
    this.downlink.onSent(payload.length + RTP_HEADER_BYTES, nowMs)
    this.budget.sent(sequenceNumber, payload.length + RTP_HEADER_BYTES, info.temporalId, nowMs)
    this.metrics.forwardedPacket(info.temporalId)
    this.sentPackets++
    this.sinceReport.sent++
    this.intervalStart ??= nowMs
    if (nowMs - this.intervalStart >= EVALUATE_MS) this.evaluate(nowMs)
    return out
  }

  /**
   * Whether a key frame request (PLI, FIR) from this subscriber goes on to the publisher. On a link the
   * server had to thin, a key frame takes a while to arrive, and a receiver that asks again before it
   * did (the engine asks every 500 ms while it has nothing to decode) would have the publisher send key
   * frames faster than the link carries them: the link stays full, every key frame arrives damaged, and
   * everyone else pays for the key frames too. So a subscriber with a downlink estimate gets at most one
   * request through per `KEYFRAME_REQUEST_MIN_MS`, or per twice its last key frame's time on the link,
   * up to `KEYFRAME_REQUEST_MAX_MS`.
   */
  allowKeyframeRequest(nowMs: number): boolean {
    const estimate = this.downlink.bitrate
    if (estimate !== Number.POSITIVE_INFINITY) {
      const keyframeMs = (this.keyframeBytes * 8000) / Math.max(estimate, 1)
      const holdMs = Math.min(KEYFRAME_REQUEST_MAX_MS, Math.max(KEYFRAME_REQUEST_MIN_MS, 2 * keyframeMs))
      if (nowMs - this.lastRequestAt < holdMs) return false
    }
    this.lastRequestAt = nowMs
    return true
  }

  /** A jump in the forwarded numbers is a packet the publisher's path lost: the subscriber will NACK it. */
  private countGap(seq: number): void {
    if (this.lastSeq !== undefined) {
      const step = (seq - this.lastSeq + 0x10000) % 0x10000
      if (step > 1 && step < 0x8000) {
        this.gaps += step - 1
        this.sinceReport.gaps += step - 1
      }
    }
    if (this.lastSeq === undefined || (seq - this.lastSeq + 0x10000) % 0x10000 < 0x8000) this.lastSeq = seq
  }

  /**
   * A receiver report block from the subscriber about this video. Its fraction lost is of every number it
   * expected since its last report, the gaps the server never had among them: what its own link lost is
   * that share of the packets forwarded and gaps left since, less the gaps, per packet forwarded.
   */
  onReceiverReport(report: ReceiverReportSample): void {
    const { sent, gaps } = this.sinceReport
    const linkLost = Math.max(0, report.fractionLost * (sent + gaps) - gaps)
    this.reportLoss = sent > 0 ? Math.min(1, linkLost / sent) : 0
    this.sinceReport = { sent: 0, gaps: 0 }
    if (report.rttMs !== undefined) this.rttMs = report.rttMs
  }

  /**
   * Sequence numbers the subscriber NACKed (as on the wire: the forwarded ones plus werift's `seqOffset`),
   * each counted once, in the interval it was first NACKed; returns those to retransmit now: at most one
   * per packet per 100 ms (protocol/media/nackPacing.ts), within the link's budget and while still of use
   * (retransmitBudget.ts). werift repeats a NACK, and keeps NACKing a
   * packet the server never had (lost upstream) in later intervals: counted in each against the few
   * packets of a base layer, that was 100 % loss on a link that lost nothing (bench:network `step`: the
   * estimate fell to 0 and held both subscribers at the base layer until 9 s after the link came back).
   */
  onNack(lost: readonly number[], nowMs: number, seqOffset = 0): number[] {
    for (const seq of lost) {
      if (this.nackedBefore.has(seq)) continue
      this.nackedBefore.add(seq)
      this.nacked.add(seq)
    }
    for (const seq of this.nackedBefore) {
      if (this.nackedBefore.size <= NACKS_REMEMBERED) break
      this.nackedBefore.delete(seq)
    }
    const layer = this.forwarder.layer
    const link = { estimateBps: this.downlink.bitrate, mediaBps: this.rates.cumulative(nowMs)[layer], layer }
    return this.retransmits.allow(lost, nowMs).filter((seq) => {
      const result = this.budget.decide((seq - seqOffset) & 0xffff, link, nowMs)
      this.metrics.retransmission(result)
      return result === 'sent'
    })
  }

  /**
   * The loss the subscriber saw in the last interval: what it NACKed per packet sent (less what the server
   * never had: upstream losses are no reason to thin this subscriber's stream), or its receiver
   * report's fraction lost when higher. Both, because a werift receiver counts retransmissions (and
   * duplicates) as received, so its reports show no loss that NACK repaired, while what a link loses
   * before repair is what says it is full; and a client that does not NACK still reports.
   */
  private evaluate(nowMs: number): void {
    const sent = this.sentPackets
    const gaps = this.gaps + this.carriedGaps
    const upstream = Math.min(this.nacked.size, gaps)
    const nackLost = Math.min(sent, this.nacked.size - upstream)
    const reportLost = (this.reportLoss ?? 0) * sent
    const lost = Math.max(nackLost, reportLost)
    this.intervalStart = nowMs
    this.sentPackets = 0
    this.nacked.clear()
    this.carriedGaps = Math.min(gaps - upstream, this.gaps)
    this.gaps = 0
    this.reportLoss = undefined
    const rtt = this.rttMs === undefined ? {} : { rttMs: this.rttMs }
    const estimate = this.downlink.onReport({ lost, ...rtt }, nowMs)
    this.forwarder.setTarget(this.selector.choose(estimate, this.rates.cumulative(nowMs), nowMs))
  }

  close(): void {
    this.metrics.untrack(this)
  }
}
