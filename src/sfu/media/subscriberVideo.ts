import { RtpHeader, RtpPacket } from 'werift'
import { DownlinkEstimate, LayerSelector, type ReceiverReportSample } from './downlink'
import { LayerForwarder, type TemporalLayer } from './layerForwarder'
import type { LayerMetrics } from './layerMetrics'
import type { LayerRates } from './layerRates'
import type { Vp8LayerInfo } from './vp8Layers'

/** RTP fixed header, counted with the payload as what the subscriber's link carries. */
const RTP_HEADER_BYTES = 12
/** How often the estimate and the layer are revisited (about as often as receiver reports come). */
const EVALUATE_MS = 1000

/**
 * One subscriber's video from a publisher that encodes with temporal layers (docs/sfu.md "Temporal-layer
 * forwarding"): its downlink estimate (from its NACKs and receiver reports) picks the layer, the forwarder drops
 * what is above it and renumbers the rest. werift's sender then adds its own constant offsets to the
 * sequence number and timestamp and keeps the packet, as sent, in its history: a NACK from the subscriber
 * names the renumbered sequence number, which is what the history is keyed by.
 */
export class SubscriberVideo {
  private readonly forwarder = new LayerForwarder()
  private readonly downlink = new DownlinkEstimate()
  private readonly selector = new LayerSelector()
  /** The current interval: packets sent, distinct sequence numbers NACKed, the newest receiver report. */
  private intervalStart: number | undefined
  private sentPackets = 0
  private readonly nacked = new Set<number>()
  private report: ReceiverReportSample | undefined
  private jitterMs = 0

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
    // A new header: the publisher's packet is shared by every subscription. Padding is not forwarded.
    const header = new RtpHeader({ ...packet.header, sequenceNumber, padding: false, paddingSize: 0 })
    const out = new RtpPacket(header, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength))
    this.downlink.onSent(payload.length + RTP_HEADER_BYTES, nowMs)
    this.metrics.forwardedPacket(info.temporalId)
    this.sentPackets++
    this.intervalStart ??= nowMs
    if (nowMs - this.intervalStart >= EVALUATE_MS) this.evaluate(nowMs)
    return out
  }

  /** A receiver report block from the subscriber about this video. */
  onReceiverReport(report: ReceiverReportSample): void {
    this.report = report
    this.jitterMs = report.jitterMs
  }

  /** Sequence numbers the subscriber NACKed (werift repeats a NACK up to 10 times: counted once). */
  onNack(lost: readonly number[]): void {
    for (const seq of lost) this.nacked.add(seq)
  }

  /**
   * The loss the subscriber saw in the last interval: what it NACKed per packet sent, or its receiver
   * report's fraction lost when higher. Both, because a werift receiver counts retransmissions (and
   * duplicates) as received, so its reports show no loss that NACK repaired, while what a link loses
   * before repair is what says it is full; and a client that does not NACK still reports.
   */
  private evaluate(nowMs: number): void {
    const nackLoss = this.sentPackets > 0 ? Math.min(1, this.nacked.size / this.sentPackets) : 0
    const fractionLost = Math.max(nackLoss, this.report?.fractionLost ?? 0)
    this.intervalStart = nowMs
    this.sentPackets = 0
    this.nacked.clear()
    this.report = undefined
    const estimate = this.downlink.onReport({ fractionLost, jitterMs: this.jitterMs }, nowMs)
    this.forwarder.setTarget(this.selector.choose(estimate, this.rates.cumulative(nowMs), nowMs))
  }

  close(): void {
    this.metrics.untrack(this)
  }
}
