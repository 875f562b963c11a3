import type { Logger } from 'pino'
import type { MediaStreamTrack, RTCRtpTransceiver, RtpPacket } from 'werift'
import { systemClock, type Clock } from '../../platform/clock'
import type { MediaKind } from '../../shared/signaling'
import { SfuError } from '../errors'
import type { SfuMetrics } from '../metrics'

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
    if (this.closed || this.kind !== 'video' || this.keyframeTimer !== undefined) return
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

  private forward(packet: RtpPacket): void {
    for (const subscription of this.subscriptions) subscription.send(packet)
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

  send(packet: RtpPacket): void {
    if (this.stateValue !== 'live') return
    this.hooks.metrics.forwarded(this.track.kind, packet.payload.length)
    // werift's sender clones the packet and rewrites SSRC and payload type to its own negotiated values.
    this.transceiver.sender.sendRtp(packet).catch((error: unknown) => {
      this.hooks.logger.debug({ err: error, track: this.track.id }, 'RTP not forwarded')
    })
  }

  close(): void {
    if (this.stateValue === 'closed') return
    this.stateValue = 'closed'
    this.track.detach(this)
    this.hooks.closed(this)
  }
}
