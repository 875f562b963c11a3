import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Clock } from '../../platform/clock'
import { SIGNAL_ERROR_MESSAGES, SignalCloseCode, SignalErrorCode } from '../../shared/codes'
import {
  assertNever,
  type ClientMessage,
  type KickReason,
  type LeaveReason,
  type MediaKind,
  type ServerMessageBody,
  type VideoKind,
} from '../../shared/signaling'
import type { SfuConfig } from '../config'
import { SfuError } from '../errors'
import type { SfuMetrics } from '../metrics'
import type { StallCause } from '../../protocol/media/mediaGuard'
import type { Track } from '../media/track'
import { Peer } from '../media/peer'

/** What a participant needs of its signaling connection (a WebSocket in production, a fake in tests). */
export interface SignalPort {
  readonly isOpen: boolean
  send(body: ServerMessageBody): void
  close(code: SignalCloseCode, reason: string): void
}

/** Messages a joined participant handles (join and ping stay with the signaling connection). */
export type InCallMessage = Exclude<ClientMessage, { type: 'join' | 'ping' }>

export interface ParticipantHooks {
  trackPublished: (participant: Participant, track: Track) => void
  trackUnpublished: (participant: Participant, track: Track) => void
  /** Finds `uid`'s video of that kind (camera or screen) and asks for a keyframe; false when there is none. */
  keyframeRequest: (uid: number, kind: VideoKind) => boolean
  closed: (participant: Participant, reason: LeaveReason) => void
}

export interface ParticipantOptions {
  uid: number
  publish: Record<MediaKind, boolean>
  /** From the join message (DisplayNameSchema); the others get it in `joined` and `userJoined`. */
  displayName?: string
  /** False when it joined with `subscribe: false`: it is subscribed to no one's tracks. */
  subscribe: boolean
  config: SfuConfig
  metrics: SfuMetrics
  /** The channel's logger (it carries `appKey` and `channel`). */
  logger: Logger
  clock: Clock
  hooks: ParticipantHooks
}

/** connected ⇄ disconnected (socket gone, within the grace period) → closed. */
export type ParticipantState = 'connected' | 'disconnected' | 'closed'

export class Participant {
  readonly uid: number
  readonly displayName: string | undefined
  /** Whether it receives the others' tracks (the join's `subscribe`, default true). */
  readonly subscribes: boolean
  /** Given to the client in `joined`; presenting it in a later join resumes this participant. */
  readonly sessionId = randomUUID()
  readonly peer: Peer
  private stateValue: ParticipantState = 'disconnected'
  private signaling: SignalPort | undefined
  private graceTimer: unknown
  private readonly logger: Logger

  constructor(private readonly options: ParticipantOptions) {
    this.uid = options.uid
    this.displayName = options.displayName
    this.subscribes = options.subscribe
    this.logger = options.logger.child({ uid: options.uid })
    this.peer = new Peer({
      uid: options.uid,
      publish: options.publish,
      config: options.config,
      metrics: options.metrics,
      logger: this.logger,
      clock: options.clock,
      hooks: {
        sendOffer: (offer) => this.send(offer),
        trackPublished: (track) => options.hooks.trackPublished(this, track),
        trackUnpublished: (track) => options.hooks.trackUnpublished(this, track),
        negotiationTimedOut: () => this.protocolError(SignalErrorCode.NegotiationTimeout),
        failed: (error) => this.peerFailed(error),
        mediaStalled: (cause) => this.mediaStalled(cause),
        handshakeFailed: () => this.handshakeFailed(),
      },
    })
  }

  get state(): ParticipantState {
    return this.stateValue
  }

  /** Binds a signaling connection (a first join, or a resume); the previous one, if open, is replaced. */
  attach(signaling: SignalPort): void {
    this.assertOpen()
    const previous = this.signaling
    this.signaling = signaling
    this.stateValue = 'connected'
    this.options.clock.clearTimeout(this.graceTimer)
    this.graceTimer = undefined
    if (previous && previous !== signaling && previous.isOpen) {
      previous.close(SignalCloseCode.Replaced, 'resumed on another connection')
    }
  }

  /** After a resume: the offer the previous connection never answered. */
  resendPendingOffer(): void {
    const offer = this.peer.resendOffer()
    if (offer) this.send(offer)
  }

  /** The signaling connection is gone: keep the media for the grace period, then leave with `timeout`. */
  detach(signaling: SignalPort): void {
    if (this.signaling !== signaling || this.stateValue !== 'connected') return
    this.signaling = undefined
    this.stateValue = 'disconnected'
    this.logger.info({ graceMs: this.options.config.reconnectGraceMs }, 'signaling lost; grace period')
    this.graceTimer = this.options.clock.setTimeout(
      () => this.close('timeout'),
      this.options.config.reconnectGraceMs,
    )
  }

  send(body: ServerMessageBody): void {
    if (this.signaling?.isOpen) this.signaling.send(body)
  }

  async handle(message: InCallMessage): Promise<void> {
    this.assertOpen()
    switch (message.type) {
      case 'answer':
        return this.answer(message.seq, message.sdp)
      case 'renegotiate':
        this.peer.requestNegotiation()
        return
      case 'publish':
        this.peer.setPublishing(message.kind, true)
        return
      case 'unpublish':
        this.peer.setPublishing(message.kind, false)
        return
      case 'keyframeRequest':
        if (!this.options.hooks.keyframeRequest(message.uid, message.kind ?? 'video'))
          this.error(SignalErrorCode.UnknownUser, 'keyframeRequest')
        return
      case 'leave': {
        const signaling = this.signaling
        this.close('leave')
        signaling?.close(SignalCloseCode.Normal, 'left')
        return
      }
      default:
        return assertNever(message, 'message type')
    }
  }

  private async answer(seq: number, sdp: string): Promise<void> {
    try {
      const result = await this.peer.handleAnswer(seq, sdp)
      if (result === 'stale') this.error(SignalErrorCode.StaleAnswer, 'answer')
    } catch (error) {
      if (error instanceof SfuError && error.code === SignalErrorCode.NegotiationFailed) {
        this.logger.info({ err: error.cause }, 'answer refused')
        this.protocolError(SignalErrorCode.NegotiationFailed)
        return
      }
      if (error instanceof SfuError && error.code === 'closed' && this.stateValue === 'closed') return
      throw error
    }
  }

  /**
   * No offer can be made. With no media port free the client hears `server_full` and 1013 (try again, or
   * another server) rather than an offer whose ICE can never succeed; anything else is a kick.
   */
  private peerFailed(error: unknown): void {
    if (!(error instanceof SfuError && error.code === SignalErrorCode.ServerFull)) {
      this.logger.error({ err: error }, 'negotiation failed for good')
      return this.kick('serverKicked', 'media negotiation failed')
    }
    this.logger.error({ err: error }, 'no media port free; participant dropped')
    this.options.metrics.joinFailures.inc({ code: error.code })
    const signaling = this.signaling
    const message = `${SIGNAL_ERROR_MESSAGES[error.code]} (${error.message})`
    this.send({ type: 'error', code: error.code, message, ref: 'join' })
    this.close('serverKicked')
    signaling?.close(SignalCloseCode.TryAgainLater, error.code)
  }

  /**
   * The answer was applied but its media connection failed before it ever connected (DTLS handshake). A
   * resume cannot mend an applied answer and werift cannot restart DTLS: `negotiation_failed`, 4004, and
   * the participant goes, so that the client's resume finds nothing to resume and joins afresh.
   */
  private handshakeFailed(): void {
    if (this.stateValue === 'closed') return
    this.logger.warn('media connection failed before connecting; participant dropped')
    const signaling = this.signaling
    this.error(SignalErrorCode.NegotiationFailed, 'answer')
    this.close('serverKicked')
    signaling?.close(SignalCloseCode.ProtocolError, SignalErrorCode.NegotiationFailed)
  }

  /** A broken negotiation: say why and drop the connection; the client may resume and answer again. */
  private protocolError(code: SignalErrorCode): void {
    const signaling = this.signaling
    this.error(code, 'answer')
    signaling?.close(SignalCloseCode.ProtocolError, code)
  }

  private error(code: SignalErrorCode, ref: string): void {
    this.send({ type: 'error', code, message: SIGNAL_ERROR_MESSAGES[code], ref })
  }

  /** Tells the client why, closes its connection, and leaves with the same reason. */
  kick(reason: KickReason, message: string): void {
    if (this.stateValue === 'closed') return
    const signaling = this.signaling
    this.send({ type: 'kicked', reason, message })
    this.close(reason)
    const code = reason === 'serverShutdown' ? SignalCloseCode.GoingAway : SignalCloseCode.Kicked
    signaling?.close(code, message)
  }

  /**
   * Moves the participant off this node (it drains, docs/scaling.md): `rejoin` tells the client to join
   * again through a fresh session, then the participant goes (the others hear `serverShutdown`; they are
   * being moved too) and the socket closes 4007. One in its grace period just goes.
   */
  move(message: string): void {
    if (this.stateValue === 'closed') return
    const signaling = this.signaling
    this.send({ type: 'rejoin', reason: 'moved', message })
    this.close('serverShutdown')
    signaling?.close(SignalCloseCode.Moved, message)
  }

  /**
   * The media path died while werift says "connected" (werift cannot restart ICE or DTLS): the participant
   * goes (the others see `userLeft timeout`) and its socket closes 4006, so the client's resume finds nothing
   * to resume and it joins again with a new PeerConnection.
   */
  private mediaStalled(cause: StallCause): void {
    if (this.stateValue === 'closed') return
    this.logger.warn({ cause }, 'media path dead while connected; closing the participant so that it rejoins')
    const signaling = this.signaling
    this.close('timeout')
    signaling?.close(SignalCloseCode.MediaStalled, `media stalled (${cause}); rejoin`)
  }

  /** Closes the peer connection (and so its tracks and subscriptions) and tells the channel. Idempotent. */
  close(reason: LeaveReason): void {
    if (this.stateValue === 'closed') return
    this.stateValue = 'closed'
    this.options.clock.clearTimeout(this.graceTimer)
    this.signaling = undefined
    this.peer.close()
    this.logger.info({ reason }, 'participant closed')
    this.options.hooks.closed(this, reason)
  }

  private assertOpen(): void {
    if (this.stateValue === 'closed') throw SfuError.closed(`participant ${this.uid}`)
  }
}
