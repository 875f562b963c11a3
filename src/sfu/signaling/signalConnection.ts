import type { Logger } from 'pino'
import { type RawData, WebSocket } from 'ws'
import type { Clock } from '../../platform/clock'
import { SIGNAL_ERROR_MESSAGES, SignalCloseCode, SignalErrorCode } from '../../shared/codes'
import {
  assertNever,
  type ClientMessage,
  messageTypeOf,
  parseClientMessage,
  SIGNAL_VERSION,
  type ServerMessageBody,
} from '../../shared/signaling'
import type { Conference, JoiningConnection } from '../room/conference'
import type { SfuConfig } from '../config'
import type { SfuMetrics } from '../metrics'
import type { Participant } from '../room/participant'

/**
 * One signaling WebSocket. Frames are handled one at a time, in order (a join finishes before the next
 * frame is read). Every malformed frame is answered with an `error` (and, past `maxBadMessages`, a close);
 * binary frames close with 1003; oversized frames are closed by ws (1009, `maxPayload`); a connection that
 * has not joined within `joinTimeoutMs` is closed (4000); one that misses a protocol pong is terminated.
 */

export type SignalConnectionState = 'new' | 'joining' | 'joined' | 'closed'

export interface SignalConnectionDeps {
  config: SfuConfig
  metrics: SfuMetrics
  logger: Logger
  clock: Clock
  conference: Conference
  closed: (connection: SignalConnection) => void
  /** The connection joined: it leaves the unauthenticated share (admission.ts). */
  joined?: () => void
  /**
   * The `join` that came with the upgrade (its header, validated as a join): handled as the connection's
   * first frame, so it is checked exactly as a `join` message and a later `join` is `already_joined`.
   */
  firstFrame?: string
}

/** Frames waiting behind a slow one (a join verifying its token); past this the client is flooding. */
const MAX_QUEUED_FRAMES = 64

export class SignalConnection implements JoiningConnection {
  private stateValue: SignalConnectionState = 'new'
  private participant: Participant | undefined
  private badMessages = 0
  private queued = 0
  private chain: Promise<void> = Promise.resolve()
  private readonly joinTimer: unknown
  private keepalive: unknown
  private awaitingPong = false

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: SignalConnectionDeps,
  ) {
    this.joinTimer = deps.clock.setTimeout(() => {
      if (this.stateValue === 'new' || this.stateValue === 'joining') {
        this.close(SignalCloseCode.JoinTimeout, 'join timeout')
      }
    }, deps.config.joinTimeoutMs)
    this.keepalive = this.nextPing()
    ws.on('pong', () => {
      this.awaitingPong = false
    })
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary))
    ws.on('close', () => this.onClosed())
    if (deps.firstFrame !== undefined) this.onFrame(Buffer.from(deps.firstFrame), false)
    ws.on('error', (error) => deps.logger.debug({ err: error }, 'signaling socket error'))
  }

  get state(): SignalConnectionState {
    return this.stateValue
  }

  get isOpen(): boolean {
    return this.stateValue !== 'closed' && this.ws.readyState === WebSocket.OPEN
  }

  send(body: ServerMessageBody): void {
    if (!this.isOpen) return
    if (this.ws.bufferedAmount > this.deps.config.maxBufferedBytes) {
      this.deps.logger.warn('signaling client does not read; dropping the connection')
      this.ws.terminate()
      return
    }
    this.ws.send(JSON.stringify({ v: SIGNAL_VERSION, ...body }))
  }

  close(code: SignalCloseCode, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason)
    }
    this.onClosed()
  }

  refuse(code: SignalErrorCode, message: string): void {
    this.send({ type: 'error', code, message, ref: 'join' })
    const closeCode =
      code === SignalErrorCode.ServerDraining ? SignalCloseCode.TryAgainLater : SignalCloseCode.JoinRefused
    this.close(closeCode, code)
  }

  bind(participant: Participant): void {
    this.participant = participant
    this.stateValue = 'joined'
    this.deps.clock.clearTimeout(this.joinTimer)
    this.deps.joined?.()
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.stateValue === 'closed') return
    if (isBinary) {
      this.deps.metrics.badMessages.inc({ code: 'binary' })
      this.close(SignalCloseCode.UnsupportedData, 'text frames only')
      return
    }
    if (++this.queued > MAX_QUEUED_FRAMES) {
      this.deps.metrics.badMessages.inc({ code: 'flood' })
      this.close(SignalCloseCode.PolicyViolation, 'too many frames in flight')
      return
    }
    const text = rawText(data)
    this.chain = this.chain
      .then(() => this.handleText(text))
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'signaling handler failed')
        this.error(SignalErrorCode.Internal, messageTypeOf(text))
      })
      .finally(() => {
        this.queued--
      })
  }

  private async handleText(text: string): Promise<void> {
    if (this.stateValue === 'closed') return
    const parsed = parseClientMessage(text)
    if (!parsed.ok) return this.bad(parsed.code, parsed.message, messageTypeOf(text))
    return this.dispatch(parsed.message)
  }

  private async dispatch(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'ping':
        this.send({ type: 'pong', ts: message.ts })
        return
      case 'join':
        if (this.stateValue !== 'new') return this.bad(SignalErrorCode.AlreadyJoined, undefined, 'join')
        this.stateValue = 'joining'
        await this.deps.conference.join(this, message)
        return
      case 'answer':
      case 'renegotiate':
      case 'publish':
      case 'unpublish':
      case 'keyframeRequest':
      case 'leave':
        if (this.stateValue !== 'joined' || !this.participant || this.participant.state === 'closed') {
          return this.bad(SignalErrorCode.NotJoined, undefined, message.type)
        }
        await this.participant.handle(message)
        return
      default:
        return assertNever(message, 'message type')
    }
  }

  private bad(code: SignalErrorCode, detail: string | undefined, ref: string | undefined): void {
    this.deps.metrics.badMessages.inc({ code })
    this.error(code, ref, detail)
    if (++this.badMessages >= this.deps.config.maxBadMessages) {
      this.close(SignalCloseCode.PolicyViolation, 'too many bad messages')
    }
  }

  private error(code: SignalErrorCode, ref: string | undefined, detail?: string): void {
    const message =
      detail === undefined ? SIGNAL_ERROR_MESSAGES[code] : `${SIGNAL_ERROR_MESSAGES[code]} (${detail})`
    this.send({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }) })
  }

  /** A protocol ping every `keepaliveMs` until the connection closes. */
  private nextPing(): unknown {
    return this.deps.clock.setTimeout(() => {
      this.ping()
      if (this.stateValue !== 'closed') this.keepalive = this.nextPing()
    }, this.deps.config.keepaliveMs)
  }

  private ping(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    if (this.awaitingPong) {
      this.deps.logger.info('signaling keepalive missed; dropping the connection')
      this.ws.terminate()
      return
    }
    this.awaitingPong = true
    this.ws.ping()
  }

  private onClosed(): void {
    if (this.stateValue === 'closed') return
    this.stateValue = 'closed'
    this.deps.clock.clearTimeout(this.joinTimer)
    this.deps.clock.clearTimeout(this.keepalive)
    this.participant?.detach(this)
    this.deps.closed(this)
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8')
  return data.toString('utf8')
}
