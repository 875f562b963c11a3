import { WebSocket, type RawData } from 'ws'
import { SIGNAL_ERROR_MESSAGES, SignalCloseCode, SignalErrorCode } from '../../shared/codes'
import { EngineError, ErrorCode } from '../../shared/errors'
import {
  parseServerMessage,
  SIGNAL_VERSION,
  type ClientMessage,
  type JoinMessage,
  type ServerMessage,
} from '../../shared/signaling'
import { silentLogger, systemClock, type Clock, type EngineLogger } from '../defaults'
import { TypedEmitter } from '../events'
import type { HttpProxyConfig } from '../route/httpProxy'
import type { TlsPin } from '../route/tlsPin'
import type { ProxyTarget } from '../route/pathSelect'
import { openSocket, type SocketOptions } from './signalingSocket'

/**
 * The signaling connection to the conference server (docs/sfu.md): JSON over a WebSocket, through the
 * proxy's `wss://…/v1/signal` with the proxy's certificate pinned exactly as the session request pinned it
 * (the same `connectPinnedTls`, so a TLS-inspecting middlebox is reported as such), or straight to the
 * server in direct mode. Every server frame is validated with the shared schema; an application-level
 * ping measures the round trip and detects a dead path sooner than TCP does.
 */

type Omit1<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
export type ClientMessageBody = Omit1<ClientMessage, 'v'>
export type JoinRequest = Omit<JoinMessage, 'v' | 'type'>
export type JoinedMessage = Extract<ServerMessage, { type: 'joined' }>

export interface SignalingTimings {
  /** TCP + TLS + WebSocket handshake. */
  connectTimeoutMs: number
  /** From `join` sent to `joined`. */
  joinTimeoutMs: number
  pingIntervalMs: number
  /** No pong for this long: the connection is dead (terminated, reported as closed). */
  pongTimeoutMs: number
  /** leave: how long to wait for the server's close before closing ourselves. */
  leaveWaitMs: number
}

export const SIGNALING_DEFAULTS: SignalingTimings = {
  connectTimeoutMs: 5000,
  joinTimeoutMs: 10_000,
  pingIntervalMs: 2000,
  pongTimeoutMs: 6000,
  leaveWaitMs: 1000,
}

/** A close code we report for a connection we terminated because pongs stopped. */
export const CLOSE_PONG_TIMEOUT = 4900

/**
 * `url`, `tls` (for wss: the pin and host:port, through a corporate HTTP CONNECT proxy when given, and a
 * connection made earlier to host:port — a prepared join's — used if still open; without `tls`, wss
 * verifies against the system CAs) and `signal`: as the handshake reads them (signalingSocket.ts).
 * `join`: the join to send with the upgrade (the `Pinhole-Join` header): a server that takes it answers
 * `joined` unasked; with one that does not, it is sent as a `join` message once open. Either way the first
 * `join(request)` with the same request gets that answer.
 */
export interface SignalingOptions extends Omit<SocketOptions, 'join'> {
  join?: JoinRequest
  timings?: Partial<SignalingTimings>
  clock?: Clock
  logger?: EngineLogger
}

export interface SignalingEvents {
  /** Every valid server message except `pong`. */
  message: [message: ServerMessage]
  /** The connection ended (by either side); `local` when we closed it with close(). */
  closed: [code: number, reason: string, local: boolean]
  rtt: [ms: number]
}

/** A refusal from the conference server, with its own code (`signalCode`) kept for callers. */
export class SignalingError extends EngineError {
  constructor(
    code: ErrorCode,
    readonly signalCode: string,
    message: string,
  ) {
    super(code, `${signalCode}: ${message}`)
  }
}

/** Refusals that another attempt cannot fix: the token, the uid, someone else taking our uid. */
export function isFatalRefusal(error: unknown): boolean {
  if (!(error instanceof SignalingError)) return false
  return (
    error.code !== ErrorCode.ChannelFull &&
    error.signalCode !== 'server_full' &&
    error.signalCode !== 'server_draining'
  )
}

/**
 * `SignalingOptions.tls` for a call through a proxy: the proxy's TCP port with the pin its session request
 * saw (the fingerprint seen, or the region's CA). Empty when direct or not wss.
 */
export function signalingTls(
  proxy: ProxyTarget | undefined,
  signalUrl: string,
  httpProxy?: HttpProxyConfig,
): Pick<SignalingOptions, 'tls'> {
  if (!proxy || !signalUrl.startsWith('wss:')) return {}
  const { region, session } = proxy
  const pin: TlsPin = {
    fingerprintSha256: session.fingerprintSha256,
    ...(region.caPem === undefined ? {} : { caPem: region.caPem }),
  }
  return { tls: { host: region.proxyHost, port: region.ports.tcp, pin, ...(httpProxy ? { httpProxy } : {}) } }
}

/**
 * The server's join refusals → the engine's codes: a refused token is the same cause whether the proxy's
 * session API or the conference server (direct mode) refused it, so it gets the same code.
 */
const REFUSALS: Readonly<Record<string, ErrorCode>> = {
  [SignalErrorCode.ChannelFull]: ErrorCode.ChannelFull,
  [SignalErrorCode.UidInvalid]: ErrorCode.RequestParameter,
  [SignalErrorCode.TokenExpired]: ErrorCode.ProxySessionTokenExpired,
  [SignalErrorCode.TokenMalformed]: ErrorCode.ProxySessionTokenInvalid,
  [SignalErrorCode.TokenInvalid]: ErrorCode.ProxySessionTokenInvalid,
  [SignalErrorCode.TokenClaims]: ErrorCode.ProxySessionTokenInvalid,
  [SignalErrorCode.AppUnknown]: ErrorCode.ProxySessionTokenInvalid,
  [SignalErrorCode.TokenChannelMismatch]: ErrorCode.ProxySessionTokenInvalid,
  [SignalErrorCode.TokenUidMismatch]: ErrorCode.ProxySessionTokenInvalid,
}

export function refusalError(signalCode: string, message: string): SignalingError {
  const code = Object.hasOwn(REFUSALS, signalCode) ? REFUSALS[signalCode]! : ErrorCode.JoinRefused
  const known = (SIGNAL_ERROR_MESSAGES as Record<string, string | undefined>)[signalCode]
  return new SignalingError(code, signalCode, message || known || 'refused')
}

export class SignalingClient extends TypedEmitter<SignalingEvents> {
  /** A `join` sent by joinEarly, for the call's `join` with the same request. */
  private early: { key: string; joined: Promise<JoinedMessage> } | undefined

  private readonly timings: SignalingTimings
  private readonly clock: Clock
  private readonly logger: EngineLogger
  private pingTimer: unknown
  private lastPong: number
  private closedLocally = false
  /** After `joined`, messages wait here until `deliver()`: the caller sets up what handles them first. */
  private held: ServerMessage[] | undefined
  /** Frames that failed the schema (a server bug or a newer server); counted and ignored. */
  invalidMessages = 0

  private constructor(
    private readonly ws: WebSocket,
    options: SignalingOptions,
    /** The proxy certificate this connection saw (wss through a proxy). */
    readonly fingerprintSha256: string | undefined,
  ) {
    super((event, error) => this.logger.error({ event, err: error }, 'a signaling listener threw'))
    this.timings = { ...SIGNALING_DEFAULTS, ...options.timings }
    this.clock = options.clock ?? systemClock
    this.logger = options.logger ?? silentLogger
    this.lastPong = this.clock.now()
    ws.on('message', (data, isBinary) => this.onRaw(data, isBinary))
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()))
    ws.on('error', (error) => this.logger.debug({ err: error }, 'signaling socket error'))
    this.schedulePing()
  }

  /** Opens the WebSocket; rejects with an EngineError (TLS pin, unreachable, timeout, canceled). */
  static async open(options: SignalingOptions): Promise<SignalingClient> {
    const timings = { ...SIGNALING_DEFAULTS, ...options.timings }
    const clock = options.clock ?? systemClock
    const opened = await openSocket(options, timings, clock)
    const client = new SignalingClient(opened.ws, options, opened.fingerprintSha256)
    // Waiting for `joined` before the frames already read are handed over: one may be it.
    if (options.join) client.joinEarly(options.join, opened.joinAccepted)
    opened.replay((data, isBinary) => client.onRaw(data, isBinary))
    return client
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  /**
   * Sends `join` now, before the call asks (earlySignaling.ts), or only waits for its answer when the
   * server took it with the upgrade (`sent`): the call's `join` with the same request then gets this one's
   * answer instead of sending another.
   */
  joinEarly(request: JoinRequest, sent = false): void {
    const joined = this.awaitJoined(request, !sent)
    joined.catch(() => undefined) // the call's join reports it
    this.early = { key: joinKey(request), joined }
  }

  /** Sends `join` and resolves with `joined`; a refusal rejects with a SignalingError. */
  join(request: JoinRequest): Promise<JoinedMessage> {
    const early = this.early
    this.early = undefined
    if (early?.key === joinKey(request)) return early.joined
    return this.awaitJoined(request, true)
  }

  private awaitJoined(request: JoinRequest, send: boolean): Promise<JoinedMessage> {
    return new Promise<JoinedMessage>((resolve, reject) => {
      const done = (): void => {
        this.clock.clearTimeout(timer)
        this.off('message', onMessage)
        this.off('closed', onClosed)
      }
      const onMessage = (message: ServerMessage): void => {
        if (message.type === 'joined') {
          done()
          this.held = []
          resolve(message)
        } else if (message.type === 'error' && (message.ref === 'join' || message.ref === undefined)) {
          done()
          reject(refusalError(message.code, message.message))
        } else if (message.type === 'kicked') {
          done()
          reject(new SignalingError(ErrorCode.Kicked, message.reason, message.message))
        }
      }
      const onClosed = (code: number, reason: string): void => {
        done()
        reject(new EngineError(ErrorCode.SignalingLost, `closed ${code} ${reason} before joined`))
      }
      const timer = this.clock.setTimeout(() => {
        done()
        reject(new EngineError(ErrorCode.SignalingLost, `no joined within ${this.timings.joinTimeoutMs} ms`))
      }, this.timings.joinTimeoutMs)
      this.on('message', onMessage)
      this.on('closed', onClosed)
      if (send && !this.send({ type: 'join', ...request })) onClosed(this.ws.readyState, 'not open')
    })
  }

  /** Starts delivering the messages that followed `joined` (held until now), then every later one. */
  deliver(): void {
    const held = this.held ?? []
    this.held = undefined
    for (const message of held) this.emit('message', message)
  }

  /** False when the connection is not open (the message is not sent). */
  send(message: ClientMessageBody): boolean {
    if (!this.isOpen) return false
    this.ws.send(JSON.stringify({ v: SIGNAL_VERSION, ...message }))
    return true
  }

  /** Sends `leave` and waits (bounded) for the server to close, so that the others see `leave`, not a timeout. */
  async leave(): Promise<void> {
    if (this.send({ type: 'leave' })) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, this.timings.leaveWaitMs)
        this.once('closed', () => {
          this.clock.clearTimeout(timer)
          resolve()
        })
      })
    }
    this.close()
  }

  /** Closes without a word (idempotent); `closed` fires with local = true. */
  close(code: number = SignalCloseCode.Normal, reason = 'client closed'): void {
    this.closedLocally = true
    this.stopPing()
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason)
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate()
  }

  private onRaw(data: RawData, isBinary: boolean): void {
    this.onFrame(String(data), isBinary)
  }

  private onFrame(text: string, isBinary: boolean): void {
    if (isBinary) return void this.invalidMessages++
    const parsed = parseServerMessage(text)
    if (!parsed.ok) {
      this.invalidMessages++
      this.logger.warn({ code: parsed.code, detail: parsed.message }, 'invalid signaling message ignored')
      return
    }
    const message = parsed.message
    if (message.type === 'pong') {
      this.lastPong = this.clock.now()
      if (Number.isFinite(message.ts)) this.emit('rtt', Math.max(0, this.clock.now() - message.ts))
      return
    }
    if (this.held) this.held.push(message)
    else this.emit('message', message)
  }

  private onClose(code: number, reason: string): void {
    this.stopPing()
    this.emit('closed', code, reason, this.closedLocally)
    this.removeAllListeners()
  }

  private schedulePing(): void {
    this.pingTimer = this.clock.setTimeout(() => {
      if (!this.isOpen) return
      if (this.clock.now() - this.lastPong > this.timings.pongTimeoutMs) {
        this.logger.info({ pongTimeoutMs: this.timings.pongTimeoutMs }, 'signaling: no pong; closing')
        this.ws.terminate()
        return
      }
      this.send({ type: 'ping', ts: this.clock.now() })
      this.schedulePing()
    }, this.timings.pingIntervalMs)
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) this.clock.clearTimeout(this.pingTimer)
    this.pingTimer = undefined
  }
}

/** What identifies a join request: the same key, the same message on the wire. */
export function joinKey(request: JoinRequest): string {
  const { token, channel, uid, displayName, capabilities, resume } = request
  const { audio, video, screen } = capabilities
  return JSON.stringify([
    token,
    channel,
    uid,
    displayName ?? null,
    audio,
    video,
    screen ?? false,
    resume ?? null,
  ])
}
