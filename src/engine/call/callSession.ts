import type { EngineEvents } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { assertNever, MEDIA_KINDS, type MediaKind, type ServerMessage } from '../../shared/signaling'
import type { CallContext, CallHandle, ConnectCall, LocalMediaState } from './call'
import { CallStats } from './callStats'
import { untilAborted } from '../defaults'
import type { OfferMessage } from '../media/peerMedia'
import { Presence } from './presence'
import { backoffPolicy, type ReconnectPolicy } from './reconnectPolicy'
import { Reconnector, reconnectTimeout } from './reconnector'
import { CALL_DEFAULTS, type CallOptions } from './callOptions'
import { HeldEvents } from './heldEvents'
import { CallMedia } from './callMedia'
import { joinRequestOf, openSignaling } from './earlySignaling'
import {
  INITIAL_CALL_STATE,
  step,
  type CallAction,
  type CallInput,
  type CallState,
  type LostPath,
} from './callMachine'
import { isFatalRefusal, signalingTls, SignalingError, type SignalingClient } from './signalingClient'

/**
 * The call (docs/architecture.md "A call's life", steps 3–5): signaling over the proxy's wss and media over
 * its TURN relay, as one `connectCall`. Owns one SignalingClient and one CallMedia (the PeerConnection) at a
 * time (docs/engine.md, "Ownership"). A lost signaling path is resumed (a new WebSocket joins with the
 * `sessionId`; media never stopped); a lost media path, or a resume the server no longer knows, is a full
 * rejoin with a new PeerConnection. Losses and their outcome go to the engine's state machine through
 * `report`.
 */

export function createConnectCall(options: CallOptions = {}): ConnectCall {
  return async (context) => {
    const call = new CallSession(context, options)
    await call.start()
    return call.handle()
  }
}

/** The engine's default call. */
export const connectCallSession: ConnectCall = createConnectCall()

class CallSession {
  private state: CallState = INITIAL_CALL_STATE
  private signaling: SignalingClient | undefined
  private readonly media: CallMedia
  private sessionId: string | undefined
  /** What the server was last told we publish. */
  private published: LocalMediaState = { audio: false, video: false, screen: false }
  private attempt: AbortController | undefined
  private closing: Promise<void> | undefined
  private readonly closer = new AbortController()
  private readonly held: HeldEvents
  private readonly presence: Presence
  private readonly policy: ReconnectPolicy
  private readonly stats: CallStats
  /** The call's own copy: a region failover replaces its `proxy` and `transport`. */
  private readonly context: CallContext

  constructor(
    context: CallContext,
    private readonly options: CallOptions,
  ) {
    this.context = { ...context }
    this.held = new HeldEvents((event, ...args) => this.context.emit(event, ...args))
    this.presence = new Presence((event, ...args) => this.emit(event, ...args))
    this.policy = options.reconnect ?? backoffPolicy()
    this.stats = new CallStats({
      context: this.context,
      ...(options.statsIntervalMs === undefined ? {} : { intervalMs: options.statsIntervalMs }),
      media: () => this.media.current,
      transport: () => this.media.transport,
      condition: () =>
        this.state.phase === 'closed'
          ? 'off'
          : this.state.phase === 'reconnecting' && this.state.mediaBroken
            ? 'down'
            : 'up',
      emit: (event, ...args) => this.emit(event, ...args),
    })
    this.media = new CallMedia({
      context: this.context,
      options,
      counters: this.stats.counters,
      remoteVideo: this.stats.remoteVideo,
      emit: (event, ...args) => this.emit(event, ...args),
      lost: () => this.lost('media'),
      active: () => this.state.phase !== 'closed',
    })
  }

  async start(): Promise<void> {
    try {
      await this.connect(this.context.signal)
      this.dispatch({ type: 'joined' })
      // enableLocalAudio/Video may have changed while joining: the engine had no call to tell yet.
      const wanted = this.context.localMedia()
      for (const kind of MEDIA_KINDS) this.syncPublishing(kind, wanted[kind])
    } catch (error) {
      await this.close()
      throw error instanceof EngineError
        ? error
        : new EngineError(ErrorCode.Internal, String(error), { cause: error })
    }
  }

  /** Until the engine has reported the join, events wait (bounded), so that apps see Connected first. */
  private emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void {
    this.held.emit(event, ...args)
  }

  handle(): CallHandle {
    return {
      close: () => this.close(),
      joined: () => {
        this.held.release()
        this.stats.start()
      },
      setLocalMedia: (kind, enabled) => this.syncPublishing(kind, enabled),
      pushVideoFrame: (frame) => this.media.current?.sendVideoFrame(frame) ?? false,
      pushAudioFrame: (frame) => this.media.current?.sendAudioFrame(frame) ?? false,
      requestRemoteKeyFrame: (uid, track) => this.media.current?.requestRemoteKeyFrame(uid, track) ?? false,
    }
  }

  /** Signaling (resuming `resume` when given), join, then a new PeerConnection unless media carries on. */
  private async connect(parent: AbortSignal, resume?: string): Promise<void> {
    const attempt = new AbortController()
    this.attempt = attempt
    const onAbort = (): void => attempt.abort(parent.reason)
    if (parent.aborted) onAbort()
    parent.addEventListener('abort', onAbort, { once: true })
    try {
      await this.connectWith(attempt.signal, resume)
    } finally {
      parent.removeEventListener('abort', onAbort)
      if (this.attempt === attempt) this.attempt = undefined
    }
  }

  private async connectWith(signal: AbortSignal, resume: string | undefined): Promise<void> {
    const { context } = this
    const capabilities = { ...context.localMedia() }
    const request = joinRequestOf(context, capabilities)
    const signaling = await openSignaling(context.early, resume ? undefined : request, {
      url: context.transport.signalUrl,
      ...signalingTls(context.proxy, context.transport.signalUrl, context.httpProxy),
      ...(this.options.signaling ? { timings: this.options.signaling } : {}),
      signal,
      clock: context.clock,
      logger: context.logger,
    })
    context.mark?.('signalingOpen')
    try {
      const joined = await untilAborted(signaling.join(resume ? { ...request, resume } : request), signal)
      context.mark?.('joined')
      // The server kept our participant, but our PeerConnection is gone: werift cannot restart ICE/DTLS on
      // the server's side (docs/sfu.md), so only a full rejoin brings media back.
      const keepMedia = joined.resumed && this.media.current?.isConnected === true && !this.state.mediaBroken
      if (joined.resumed && !keepMedia) {
        this.dispatch({ type: 'resumedWithoutMedia' })
        throw new EngineError(ErrorCode.MediaLost, 'resumed without a media path; rejoining')
      }
      const rtcConfig = keepMedia ? undefined : await this.media.config(signal)
      this.adoptSignaling(signaling)
      this.sessionId = joined.sessionId
      if (rtcConfig) {
        this.published = capabilities
        this.media.replace(rtcConfig)
        this.dispatch({ type: 'mediaReplaced' })
      } else {
        for (const kind of MEDIA_KINDS) this.syncPublishing(kind, capabilities[kind])
      }
      this.presence.reset(joined.participants)
      signaling.deliver()
      if (!keepMedia) await untilAborted(this.media.current!.connected(signal), signal)
      context.logger.info({ resumed: joined.resumed, keepMedia }, 'call joined')
    } catch (error) {
      signaling.close()
      throw error
    }
  }

  private adoptSignaling(signaling: SignalingClient): void {
    const previous = this.signaling
    this.signaling = signaling
    if (previous && previous !== signaling) previous.close()
    signaling.on('message', (message) => {
      if (this.signaling === signaling) this.onMessage(signaling, message)
    })
    signaling.on('rtt', (ms) => {
      if (this.signaling === signaling) this.stats.signalingRttMs = ms
    })
    signaling.on('closed', (code, reason, local) => {
      if (this.signaling !== signaling || local) return
      this.context.logger.info({ code, reason }, 'signaling closed')
      this.signaling = undefined
      this.lost('signal')
    })
  }

  private onMessage(signaling: SignalingClient, message: ServerMessage): void {
    switch (message.type) {
      case 'offer':
        return this.answer(signaling, message)
      case 'userJoined':
        return this.presence.joined(message.uid, message.displayName)
      case 'userLeft':
        this.videoEnded(message.uid)
        return this.presence.left(message.uid, message.reason)
      case 'trackPublished':
      case 'trackUnpublished':
        if (message.type === 'trackUnpublished' && message.kind === 'video') this.videoEnded(message.uid)
        return this.presence.track(message.uid, message.kind, message.type === 'trackPublished')
      case 'kicked':
        return this.kicked(message.reason, message.message)
      case 'rejoin':
        return this.rejoinAsked(message.reason, message.message)
      case 'error':
        return this.context.logger.warn({ code: message.code, ref: message.ref }, message.message)
      case 'joined':
      case 'pong':
        return
      default:
        return assertNever(message, 'server message')
    }
  }

  /** The server says a user's video stopped: no freeze from now to the offer that drops its m-line. */
  private videoEnded(uid: number): void {
    this.stats.remoteVideo.streamEnded(uid, this.context.clock.now())
  }

  private answer(signaling: SignalingClient, offer: OfferMessage): void {
    const media = this.media.current
    if (!media) return
    this.context.mark?.('offer')
    media.answer(offer).then(
      (sdp) => {
        if (this.media.current === media && signaling.send({ type: 'answer', seq: offer.seq, sdp }))
          this.context.mark?.('answer')
      },
      (error: unknown) => this.context.logger.warn({ err: error, seq: offer.seq }, 'offer not applied'),
    )
  }

  /** Tells the server what we publish when it differs from what it was told. */
  private syncPublishing(kind: MediaKind, enabled: boolean): void {
    if (this.published[kind] === enabled || !this.signaling) return
    if (this.signaling.send({ type: enabled ? 'publish' : 'unpublish', kind })) this.published[kind] = enabled
  }

  private kicked(reason: string, message: string): void {
    const error = new SignalingError(ErrorCode.Kicked, reason, message)
    this.dispatch({ type: 'kicked', serverKicked: reason === 'serverKicked' }, error)
  }

  /**
   * The server moves us (its node drains, docs/scaling.md): this connection and PeerConnection go now, so
   * that their closing is not taken for a loss, and the reconnect loop rejoins through a fresh session.
   */
  private rejoinAsked(reason: string, message: string): void {
    this.context.logger.info({ reason, message }, 'the server moves the call; rejoining')
    void this.dropAll()
    this.dispatch({ type: 'rejoinAsked' })
  }

  private lost(path: LostPath): void {
    this.dispatch({ type: 'lost', path })
  }

  /** Feeds the call machine and carries out its actions in order; `error` is the cause they pass on. */
  private dispatch(input: CallInput, error?: EngineError): void {
    const { state, actions } = step(this.state, input)
    this.state = state
    for (const action of actions) this.perform(action, error)
  }

  private perform(action: CallAction, error: EngineError | undefined): void {
    switch (action.type) {
      case 'abortAttempt': {
        const code = action.cause === 'signalLost' ? ErrorCode.SignalingLost : ErrorCode.MediaLost
        return void this.attempt?.abort(error ?? new EngineError(code, 'lost while connecting'))
      }
      case 'report':
        if (action.event === 'rejoined') {
          return this.context.report({ type: 'rejoined', reDispatched: action.reDispatched })
        }
        if (action.event === 'failed') {
          return this.context.report({ type: 'failed', error: error ?? new EngineError(ErrorCode.Internal) })
        }
        return this.context.report({ type: action.event })
      case 'reconnect':
        return void this.reconnect()
      case 'shutdown':
        return this.shutdown()
      default:
        return assertNever(action, 'call action')
    }
  }

  private reconnect(): Promise<void> {
    const { clock, logger } = this.context
    let resume: string | undefined
    return new Reconnector({
      clock,
      logger,
      policy: this.policy,
      attemptTimeoutMs: this.options.attemptTimeoutMs ?? CALL_DEFAULTS.attemptTimeoutMs,
      closed: this.closer.signal,
      isReconnecting: () => this.state.phase === 'reconnecting',
      // A fresh session and transport first (expired TURN credentials, a broken proxy → another region).
      reroute: (failures, signal) => this.reroute(failures, signal),
      attempt: (signal) => {
        resume = this.state.mediaBroken ? undefined : this.sessionId
        if (!resume) void this.dropAll()
        return this.connect(signal, resume)
      },
      succeeded: (attempt) => {
        const { reDispatched } = this.state
        logger.info({ attempt, resumed: resume !== undefined, reDispatched }, 'call rejoined')
        this.dispatch({ type: 'rejoined' })
      },
      failed: (error) => {
        if (isFatalRefusal(error)) {
          this.endWith(error)
          return false
        }
        // The next attempts rejoin in full, with a new PeerConnection (e2e/lab/restart.test.ts).
        this.dispatch({ type: 'attemptFailed' })
        return true
      },
      gaveUp: (attempts, last) => this.endWith(reconnectTimeout(attempts, last)),
    }).run()
  }

  /**
   * CallContext.reroute: the route for this attempt (fresh credentials; maybe another region, then the
   * rejoin is a full one). Resolves whether the call moved region.
   */
  private async reroute(failures: number, signal: AbortSignal): Promise<boolean> {
    const { reroute, proxy, transport } = this.context
    if (!reroute || !proxy) return false
    const next = await reroute({ proxy, transport }, failures, signal)
    if (this.state.phase !== 'reconnecting') return false
    this.context.proxy = next.proxy
    this.context.transport = next.transport
    if (!next.moved) return false
    this.context.logger.info(
      { from: proxy.region.id, to: next.proxy?.region.id ?? 'direct', target: next.transport.target },
      "call moved to another proxy (the region's next host, or another region)",
    )
    this.dispatch({ type: 'moved' })
    return true
  }

  /** Reconnecting cannot succeed: Failed (or Disconnected when someone else took our uid). */
  private endWith(error: unknown): void {
    const kicked = error instanceof EngineError && error.code === ErrorCode.Kicked
    const engineError =
      error instanceof EngineError ? error : new EngineError(ErrorCode.Internal, String(error))
    this.dispatch({ type: 'ended', kicked }, engineError)
  }

  /** Before a full rejoin: the old connection and PeerConnection go (a stale one must not abort the new). */
  private dropAll(): Promise<void> {
    const signaling = this.signaling
    this.signaling = undefined
    signaling?.close()
    return this.media.drop()
  }

  /** Stops everything without telling the server (it already ended the call, or cannot be reached). */
  private shutdown(): void {
    this.stats.stop()
    this.closer.abort(new EngineError(ErrorCode.JoinCanceled, 'call closed'))
    this.closing ??= this.dropAll()
  }

  /** leaveChannel: `leave` to the server (the others see "leave" at once), then everything closes. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    const signaling = this.signaling
    this.signaling = undefined
    this.dispatch({ type: 'close' })
    const closing = this.closing ?? Promise.resolve()
    this.closing = Promise.all([closing, signaling?.leave()]).then(() => undefined)
    return this.closing
  }
}
