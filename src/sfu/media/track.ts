import type { Logger } from 'pino'
import type { MediaStreamTrack, RTCRtpTransceiver, RtcpReceiverInfo, RtpPacket } from 'werift'
import { systemClock, type Clock } from '../../platform/clock'
import { isVideoKind, type MediaKind } from '../../shared/signaling'
import { SfuError } from '../errors'
import type { SfuMetrics } from '../metrics'
import { LayerRates } from './layerRates'
import { RtpOut, type SenderInternals } from './rtpOut'
import { SubscriberVideo } from './subscriberVideo'
import { parseVp8LayerInfo, type Vp8LayerInfo } from './vp8Layers'

/**
 * A published track (mediasoup's Producer) and the paths that forward it (Consumers). A Track belongs to
 * its publisher's Peer; a Subscription belongs to the subscriber's Peer and is linked to one
 * Track. Closing a Track closes its Subscriptions (docs/lifecycle.md).
 */

export type KeyframeSource = 'subscribe' | 'rtcp' | 'signal'

export interface TrackOptions {
  uid: number
  kind: MediaKind
  media: MediaStreamTrack
  /** Sends an RTCP PLI to the publisher for `ssrc`. */
  sendPli: (ssrc: number) => Promise<void>
  metrics: SfuMetrics
  logger: Logger
  keyframeMinIntervalMs: number
  clock?: Clock
}

export class Track {
  readonly id: string
  readonly uid: number
  readonly kind: MediaKind
  private readonly subscriptions = new Set<Subscription>()
  private readonly unsubscribe: () => void
  private closed = false
  private lastKeyframeRequest = Number.NEGATIVE_INFINITY
  private keyframeTimer: unknown
  private readonly clock: Clock
  /** Video: the publisher's rate per temporal layer (what each subscriber's layer costs). */
  readonly rates = new LayerRates()

  constructor(private readonly options: TrackOptions) {
    this.uid = options.uid
    this.kind = options.kind
    this.id = trackIdOf(options.uid, options.kind)
    this.clock = options.clock ?? systemClock
    const { unSubscribe } = options.media.onReceiveRtp.subscribe((packet) => this.forward(packet))
    this.unsubscribe = unSubscribe
  }

  get isClosed(): boolean {
    return this.closed
  }

  get media(): MediaStreamTrack {
    return this.options.media
  }

  get subscriberCount(): number {
    return this.subscriptions.size
  }

  /** Called by Subscription's constructor only. */
  attach(subscription: Subscription): void {
    if (this.closed) throw SfuError.closed(`track ${this.id}`)
    this.subscriptions.add(subscription)
  }

  detach(subscription: Subscription): void {
    this.subscriptions.delete(subscription)
  }

  /**
   * Asks the publisher for a keyframe, at most once per `keyframeMinIntervalMs`: requests inside the
   * interval are folded into one sent at its end, so a burst of new subscribers costs one keyframe.
   */
  requestKeyframe(source: KeyframeSource): void {
    if (this.closed || !isVideoKind(this.kind) || this.keyframeTimer !== undefined) return
    const wait = this.lastKeyframeRequest + this.options.keyframeMinIntervalMs - this.clock.now()
    if (wait > 0) {
      this.keyframeTimer = this.clock.setTimeout(() => {
        this.keyframeTimer = undefined
        this.sendKeyframeRequest(source)
      }, wait)
      return
    }
    this.sendKeyframeRequest(source)
  }

  private sendKeyframeRequest(source: KeyframeSource): void {
    const ssrc = this.options.media.ssrc
    if (this.closed || ssrc === undefined) return
    this.lastKeyframeRequest = this.clock.now()
    this.options.metrics.keyframeRequests.inc({ source })
    this.options.sendPli(ssrc).catch((error: unknown) => {
      this.options.logger.debug({ err: error, track: this.id }, 'PLI not sent')
    })
  }

  now(): number {
    return this.clock.now()
  }

  private forward(packet: RtpPacket): void {
    let info: Vp8LayerInfo | undefined
    if (isVideoKind(this.kind)) {
      info = parseVp8LayerInfo(packet.payload)
      if (info?.layered) this.rates.add(info.temporalId, packet.payload.length, this.clock.now())
    }
    for (const subscription of this.subscriptions) subscription.send(packet, info)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    this.clock.clearTimeout(this.keyframeTimer)
    for (const subscription of [...this.subscriptions]) subscription.close()
  }
}

export function trackIdOf(uid: number, kind: MediaKind): string {
  return `${uid}:${kind}`
}

export type SubscriptionState = 'pending' | 'live' | 'closed'

/**
 * One published Track forwarded to one subscriber, over one of the subscriber's sendonly transceivers.
 * Pending until the subscriber has answered an offer that contains it: before that the m-line may still
 * belong to a previous publisher in the client's view, so nothing is forwarded.
 */
export class Subscription {
  private stateValue: SubscriptionState = 'pending'
  /** Set at the first packet with temporal layers (T bit): from then on video goes through it. */
  private video: SubscriberVideo | undefined
  private forwardedPlain = false
  private readonly out: RtpOut

  constructor(
    readonly track: Track,
    readonly subscriberUid: number,
    readonly transceiver: RTCRtpTransceiver,
    private readonly hooks: {
      closed: (subscription: Subscription) => void
      metrics: SfuMetrics
      logger: Logger
    },
  ) {
    this.out = new RtpOut(transceiver)
    track.attach(this)
  }

  get state(): SubscriptionState {
    return this.stateValue
  }

  /**
   * The subscriber's answer covers this subscription: start forwarding, and ask for a keyframe when the
   * subscriber's peer connection can already carry it (otherwise its connection asks, once connected).
   */
  activate(peerConnected: boolean): void {
    if (this.stateValue !== 'pending') return
    this.stateValue = 'live'
    if (peerConnected) this.track.requestKeyframe('subscribe')
  }

  /** The highest temporal layer forwarded now; undefined unless the publisher sends temporal layers. */
  get layer(): number | undefined {
    return this.video?.layer
  }

  /** `info`: the VP8 descriptor's layer fields (video only). */
  send(packet: RtpPacket, info?: Vp8LayerInfo): void {
    if (this.stateValue !== 'live') return
    if (info && (this.video || info.layered)) {
      const out = this.layered(packet, info)
      if (!out) return
      packet = out
    } else if (isVideoKind(this.track.kind)) {
      this.forwardedPlain = true
    }
    this.hooks.metrics.forwarded(this.track.kind, packet.payload.length)
    // The subscriber's header (its m-line's SSRC and payload type) is written by RtpOut, not here.
    this.out.send(packet)?.catch((error: unknown) => {
      this.hooks.logger.debug({ err: error, track: this.track.id }, 'RTP not forwarded')
    })
  }

  /** The subscriber asked for a key frame (PLI/FIR); a subscriber on a thinned link is limited (SubscriberVideo). */
  requestKeyframe(source: KeyframeSource): void {
    if (this.video && !this.video.allowKeyframeRequest(this.track.now())) {
      this.hooks.metrics.layers.keyframeRequestHeld()
      return
    }
    this.track.requestKeyframe(source)
  }

  /** A reception report block about this subscription's stream, from the subscriber's RTCP. */
  receiverReport(report: RtcpReceiverInfo): void {
    // fraction lost is in 1/256; jitter in RTP timestamp units (VP8: 90 kHz).
    const sample = { fractionLost: report.fractionLost / 256, jitterMs: report.jitter / 90 }
    // werift's sender has just measured the round trip from this report (LSR/DLSR, its own clock; smoothed),
    // in seconds, but keeps it private: it tells a queue building on the subscriber's link (downlink.ts).
    const rtt = (this.transceiver.sender as unknown as { rtt?: number }).rtt
    this.video?.onReceiverReport(rtt === undefined ? sample : { ...sample, rttMs: rtt * 1000 })
  }

  /**
   * Sequence numbers (as sent to the subscriber) it asked to be retransmitted; returns those werift should
   * retransmit (all of them, as before layers existed, unless the publisher sends temporal layers).
   */
  nacked(lost: number[]): number[] {
    if (!this.video) return lost
    // The subscriber names the numbers as sent: the forwarder's plus werift's continuity offset (rtpOut.ts).
    const { seqOffset } = this.transceiver.sender as unknown as SenderInternals
    return this.video.onNack(lost, this.track.now(), seqOffset)
  }

  /** Publishers without temporal layers (no T bit) are forwarded as they come, as before layers existed. */
  private layered(packet: RtpPacket, info: Vp8LayerInfo): RtpPacket | undefined {
    if (!this.video) {
      this.video = new SubscriberVideo(this.track.rates, this.hooks.metrics.layers)
      // The publisher turned layers on mid-stream: the forwarder starts at a keyframe.
      if (this.forwardedPlain) this.track.requestKeyframe('subscribe')
    }
    return this.video.forward(packet, info, this.track.now())
  }

  close(): void {
    if (this.stateValue === 'closed') return
    this.stateValue = 'closed'
    this.video?.close()
    this.track.detach(this)
    this.hooks.closed(this)
  }
}
