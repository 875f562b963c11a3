import type { Logger } from 'pino'
import { RtcpPayloadSpecificFeedback, RtcpRrPacket, type RTCRtpTransceiver } from 'werift'
import type { Clock } from '../../platform/clock'
import { SignalErrorCode } from '../../shared/codes'
import { sanitizeRemoteSdp } from '../../shared/sdp'
import {
  MEDIA_KINDS,
  type MediaKind,
  type ServerMessageBody,
  type SubscriptionInfo,
} from '../../shared/signaling'
import type { SfuConfig } from '../config'
import { answerProblem } from './answer'
import { SfuError } from '../errors'
import { MediaGuard, MediaStallWatch, type StallCause } from '../../protocol/media/mediaGuard'
import { boundSockets } from './mediaSockets'
import type { SfuMetrics } from '../metrics'
import { type AnswerResult, Negotiator } from './negotiator'
import { TwccFeedbackSender } from '../../protocol/media/twccTransport'
import { interceptNacks } from '../../protocol/media/nackPacing'
import { serverPeerConnection, type ServerPeerConnection } from './rtc'
import { Subscription, Track } from './track'

/**
 * One participant's werift PeerConnection (bundled: one ICE/DTLS transport for every m-line) and what
 * flows over it: three publishing slots (recvonly audio, video and screen, the first three m-lines; the
 * screen is a second m=video) and a pool of sendonly m-lines, one per subscription. A freed m-line is set
 * inactive and reused by the next subscription of its SDP kind (a camera's m-line may carry a screen next),
 * so the SDP grows with the most tracks seen at once, not with churn.
 */

export type OfferMessage = Extract<ServerMessageBody, { type: 'offer' }>

export interface PeerHooks {
  sendOffer: (offer: OfferMessage) => void
  trackPublished: (track: Track) => void
  trackUnpublished: (track: Track) => void
  negotiationTimedOut: (seq: number) => void
  /** The connection cannot go on (an offer could not be created). */
  failed: (error: unknown) => void
  /** The media path is dead while werift says "connected" (src/protocol/media/mediaGuard.ts); counted already. */
  mediaStalled: (cause: StallCause) => void
  /** The DTLS handshake failed (e.g. the answer's fingerprint is not the client's): no media, ever. */
  handshakeFailed: () => void
}

export interface PeerOptions {
  uid: number
  publish: Record<MediaKind, boolean>
  config: SfuConfig
  metrics: SfuMetrics
  logger: Logger
  clock: Clock
  hooks: PeerHooks
}

const sdpKind = (kind: MediaKind): 'audio' | 'video' => (kind === 'audio' ? 'audio' : 'video')
/** RFC 5104 §4.3.1: FIR is payload-specific feedback with FMT 4. */
const FIR_FMT = 4

export class Peer {
  private readonly pc: ServerPeerConnection
  private readonly slots: Record<MediaKind, RTCRtpTransceiver>
  private readonly pool: RTCRtpTransceiver[] = []
  private readonly assigned = new Map<RTCRtpTransceiver, Subscription>()
  private readonly tracks = new Map<MediaKind, Track>()
  private readonly included = new Map<number, Subscription[]>()
  private readonly negotiator: Negotiator<OfferMessage>
  private readonly guard: MediaGuard
  private readonly stallWatch: MediaStallWatch
  /** Transport-wide feedback on what the client sends: its bandwidth estimate (docs/media.md). */
  private readonly twcc: TwccFeedbackSender
  private closed = false
  private connected = false
  private dtlsConnected = false
  /** The werift call in flight (offer or answer); close() waits for it to settle. */
  private pending: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: PeerOptions) {
    this.pc = serverPeerConnection(options.config)
    this.guard = guardMedia(this.pc, options)
    this.stallWatch = new MediaStallWatch({
      guard: this.guard,
      connected: () => this.pc.connectionState === 'connected',
      stallMs: options.config.mediaStallMs,
      clock: options.clock,
      stalled: (cause) => {
        options.metrics.mediaStalls.inc({ cause })
        options.hooks.mediaStalled(cause)
      },
    })
    const slot = (kind: MediaKind): RTCRtpTransceiver => {
      const transceiver = this.pc.addTransceiver(sdpKind(kind), {
        direction: options.publish[kind] ? 'recvonly' : 'inactive',
      })
      transceiver.onTrack.subscribe(() => this.reconcileTracks())
      return transceiver
    }
    this.slots = { audio: slot('audio'), video: slot('video'), screen: slot('screen') }
    this.twcc = new TwccFeedbackSender(this.pc, { clock: options.clock })
    this.pc.connectionStateChange.subscribe((state) => this.onConnectionState(state))
    for (const dtls of this.pc.dtlsTransports) dtls.onStateChange.subscribe((s) => this.onDtlsState(s))
    this.negotiator = new Negotiator<OfferMessage>(
      {
        createOffer: (seq) => this.createOffer(seq),
        applyAnswer: (_seq, sdp) => this.applyAnswer(sdp),
        sendOffer: (offer) => options.hooks.sendOffer(offer),
        settled: (seq) => this.settled(seq),
        timedOut: (seq) => options.hooks.negotiationTimedOut(seq),
        failed: (error) => options.hooks.failed(error),
      },
      options.config.negotiationTimeoutMs,
      options.clock,
    )
  }

  get isClosed(): boolean {
    return this.closed
  }

  get isConnected(): boolean {
    return this.connected
  }

  /** The UDP port this participant's media arrives on (admin view; undefined before gathering). */
  get mediaPort(): number | undefined {
    return this.guard.mediaPort
  }

  publishedTracks(): Track[] {
    return [...this.tracks.values()].filter((track) => !track.isClosed)
  }

  subscriptionCount(): number {
    return this.assigned.size
  }

  /** Starts the first negotiation (after `joined` is sent). */
  start(): void {
    this.assertOpen()
    this.negotiator.request()
  }

  requestNegotiation(): void {
    this.assertOpen()
    this.negotiator.request()
  }

  handleAnswer(seq: number, sdp: string): Promise<AnswerResult> {
    this.assertOpen()
    return this.negotiator.handleAnswer(seq, sdp)
  }

  /** The outstanding offer again, for a connection that resumed. */
  resendOffer(): OfferMessage | undefined {
    this.assertOpen()
    return this.negotiator.resend()
  }

  /** Opens or closes a publishing slot; closing it unpublishes the track at once. */
  setPublishing(kind: MediaKind, publishing: boolean): void {
    this.assertOpen()
    const slot = this.slots[kind]
    const direction = publishing ? 'recvonly' : 'inactive'
    if (slot.direction === direction) return
    slot.setDirection(direction)
    if (!publishing) this.unpublish(kind)
    this.negotiator.request()
  }

  subscribe(track: Track): Subscription {
    this.assertOpen()
    const kind = sdpKind(track.kind)
    const transceiver = this.pool.find((t) => t.kind === kind && !this.assigned.has(t)) ?? this.addSlot(kind)
    transceiver.setDirection('sendonly')
    // The m-line may have carried another publisher: keep its sequence numbers and timestamps continuous.
    transceiver.sender.replaceRTP({ sequenceNumber: 0, timestamp: 0 })
    const { metrics, logger } = this.options
    const subscription = new Subscription(track, this.options.uid, transceiver, {
      closed: (s) => this.release(s),
      metrics,
      logger,
    })
    this.assigned.set(transceiver, subscription)
    this.negotiator.request()
    return subscription
  }

  /** Asks every publisher this participant receives video from for a keyframe. */
  requestKeyframes(): void {
    for (const subscription of this.assigned.values()) {
      if (subscription.state === 'live') subscription.track.requestKeyframe('subscribe')
    }
  }

  /** Closes the published tracks (and so everyone's subscriptions to them), the subscriptions, the PC. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.negotiator.close()
    this.stallWatch.stop()
    this.twcc.stop()
    this.guard.dispose()
    for (const track of this.tracks.values()) track.close()
    this.tracks.clear()
    for (const subscription of [...this.assigned.values()]) subscription.close()
    void this.closePeer()
  }

  /**
   * werift binds the media socket while gathering, inside setLocalDescription, and a PeerConnection closed
   * meanwhile still binds it afterwards and never closes it (one leaked port per quick leave). So the
   * PeerConnection is closed only once the werift call in flight has settled.
   */
  private async closePeer(): Promise<void> {
    await this.pending
    await this.pc.close().catch((error: unknown) => this.options.logger.debug({ err: error }, 'pc close'))
  }

  /** Runs a werift call that changes the PeerConnection's descriptions, as the one close() waits for. */
  private werift<T>(call: () => Promise<T>): Promise<T> {
    const result = call()
    this.pending = result.catch(() => undefined)
    return result
  }

  private addSlot(kind: 'audio' | 'video'): RTCRtpTransceiver {
    const transceiver = this.pc.addTransceiver(kind, { direction: 'sendonly' })
    const forward = () => this.assigned.get(transceiver)?.requestKeyframe('rtcp')
    transceiver.sender.onPictureLossIndication.subscribe(forward)
    interceptNacks(transceiver.sender, (lost) => this.assigned.get(transceiver)?.nacked(lost) ?? lost)
    transceiver.sender.onRtcp.subscribe((packet) => {
      if (packet instanceof RtcpPayloadSpecificFeedback && packet.feedback.count === FIR_FMT) forward()
      // werift routes a receiver report here by the report block's SSRC: the subscriber's view of this
      // m-line's stream, which picks its temporal layer (docs/sfu.md "Temporal-layer forwarding").
      if (packet instanceof RtcpRrPacket) {
        const subscription = this.assigned.get(transceiver)
        for (const report of packet.reports) {
          if (report.ssrc === transceiver.sender.ssrc) subscription?.receiverReport(report)
        }
      }
    })
    this.pool.push(transceiver)
    return transceiver
  }

  private release(subscription: Subscription): void {
    const { transceiver } = subscription
    if (this.assigned.get(transceiver) !== subscription) return
    this.assigned.delete(transceiver)
    if (this.closed) return
    transceiver.setDirection('inactive')
    this.negotiator.request()
  }

  private async createOffer(seq: number): Promise<OfferMessage> {
    const included = [...this.assigned.values()]
    await this.werift(async () => {
      const offer = await this.pc.createOffer()
      this.assertOpen()
      this.options.metrics.mediaSockets.watch(this.pc)
      await this.pc.setLocalDescription(offer)
    })
    this.assertOpen()
    if (boundSockets(this.pc).length === 0) throw noMediaPort(this.options.config)
    const sdp = this.pc.localDescription?.sdp
    if (sdp === undefined) throw new Error('no local description after setLocalDescription')
    this.included.set(seq, included)
    const subscriptions: SubscriptionInfo[] = []
    for (const s of included) {
      const mid = s.transceiver.mid
      if (s.state === 'closed' || mid === null) continue
      subscriptions.push({ mid, uid: s.track.uid, trackId: s.track.id, kind: s.track.kind })
    }
    const publish = MEDIA_KINDS.flatMap((kind) => {
      const mid = this.slots[kind].mid
      return mid === null ? [] : [{ mid, kind }]
    })
    this.options.metrics.negotiations.inc({ result: 'offered' })
    return { type: 'offer', seq, sdp, publish, subscriptions }
  }

  private applyAnswer(sdp: string): Promise<void> {
    const offer = this.pc.localDescription?.sdp ?? ''
    const problem = answerProblem(offer, sdp)
    if (problem !== undefined) return Promise.reject(new Error(`unusable answer: ${problem}`))
    return this.werift(() => this.pc.setRemoteDescription({ type: 'answer', sdp: sanitizeRemoteSdp(sdp) }))
  }

  private settled(seq: number): void {
    this.options.metrics.negotiations.inc({ result: 'answered' })
    const included = this.included.get(seq) ?? []
    this.included.delete(seq)
    for (const old of this.included.keys()) if (old < seq) this.included.delete(old)
    for (const subscription of included) {
      if (this.assigned.get(subscription.transceiver) !== subscription) continue
      // Before the transport connects a keyframe would be lost: onConnectionState asks for it then.
      subscription.activate(this.connected)
    }
    this.reconcileTracks()
  }

  /** Derives the published tracks from what was negotiated: a receiving slot with a known SSRC. */
  private reconcileTracks(): void {
    if (this.closed) return
    for (const kind of MEDIA_KINDS) {
      const slot = this.slots[kind]
      const media = slot.receiver.tracks[0]
      const receiving =
        slot.direction === 'recvonly' &&
        (slot.currentDirection === 'recvonly' || slot.currentDirection === 'sendrecv') &&
        media !== undefined &&
        media.ssrc !== undefined
      const existing = this.tracks.get(kind)
      if (receiving && (!existing || existing.isClosed || existing.media !== media)) {
        if (existing && !existing.isClosed) this.unpublish(kind)
        const { uid, metrics, logger, config, clock } = this.options
        const track = new Track({
          uid,
          kind,
          media,
          sendPli: (ssrc) => slot.receiver.sendRtcpPLI(ssrc),
          metrics,
          logger,
          keyframeMinIntervalMs: config.keyframeMinIntervalMs,
          clock,
        })
        this.tracks.set(kind, track)
        this.options.hooks.trackPublished(track)
      } else if (!receiving && existing && !existing.isClosed) {
        this.unpublish(kind)
      }
    }
  }

  private unpublish(kind: MediaKind): void {
    const track = this.tracks.get(kind)
    if (!track || track.isClosed) return
    this.tracks.delete(kind)
    track.close()
    this.options.hooks.trackUnpublished(track)
  }

  private onConnectionState(state: string): void {
    if (this.closed) return
    this.options.logger.debug({ uid: this.options.uid, state }, 'media connection')
    if (state === 'connected') {
      this.connected = true
      this.requestKeyframes()
    } else if (state === 'disconnected' || state === 'failed' || state === 'closed') {
      this.connected = false
      // No ICE restart with werift (docs/sfu.md): a failed transport stays failed until the client rejoins.
      if (state === 'failed') this.options.logger.warn({ uid: this.options.uid }, 'media connection failed')
    }
  }

  /**
   * werift checks the answer's fingerprint only once the DTLS handshake is done: one that is not the
   * client's certificate fails DTLS before it ever connects. (The PeerConnection's own "failed" is no
   * sign: werift also reports it for a while when an answer lands during the handshake.)
   */
  private onDtlsState(state: string): void {
    if (state === 'connected') this.dtlsConnected = true
    if (state === 'failed' && !this.dtlsConnected && !this.closed) this.options.hooks.handshakeFailed()
  }

  private assertOpen(): void {
    if (this.closed) throw SfuError.closed(`peer connection of uid ${this.options.uid}`)
  }
}

/** werift bound no socket: every port of rtcPortRange is taken (werift tells only its debug log). */
function noMediaPort({ rtcPortRange }: SfuConfig): SfuError {
  const where = rtcPortRange ? `in rtcPortRange ${rtcPortRange[0]}-${rtcPortRange[1]}` : ''
  return SfuError.signal(SignalErrorCode.ServerFull, `no UDP media port free ${where}`.trim())
}

/** The media path guard, counted in metrics; the first drop of each kind per participant is logged. */
function guardMedia(pc: ServerPeerConnection, { metrics, logger }: PeerOptions): MediaGuard {
  const logged = new Set<string>()
  const once = (what: string, fields: object): void => {
    if (logged.has(what)) return
    logged.add(what)
    logger.warn(fields, `${what} dropped on the media port (further drops only counted)`)
  }
  return new MediaGuard(pc, {
    stunRejected: ([host, port]) => {
      metrics.stunRejected.inc()
      once('unauthenticated ICE check', { from: `${host}:${port}` })
    },
    foreignDatagram: ([host, port]) => {
      metrics.foreignDatagrams.inc()
      once('datagram from a foreign address', { from: `${host}:${port}` })
    },
    dtlsRecordDropped: (reason) => {
      metrics.dtlsRecordsDropped.inc({ reason })
      once('DTLS record', { reason })
    },
  })
}
