import type { EngineEvents } from '../shared/engine'
import { EngineError, ErrorCode } from '../shared/errors'
import { assertNever, type MediaKind, type ServerMessage } from '../shared/signaling'
import type { CallContext, CallHandle, ConnectCall, LocalMediaState } from './call'
import { CallStats } from './callStats'
import { sleep, untilAborted } from './defaults'
import { MediaSession, type MediaSessionOptions, type OfferMessage, type PeerState } from './mediaSession'
import { Presence } from './presence'
import { backoffPolicy, type ReconnectPolicy } from './reconnectPolicy'
import { SignalingClient, SignalingError, type SignalingTimings } from './signalingClient'

/**
 * The call (DESIGN.md §3 steps 2–3): signaling over the proxy's wss and media over its TURN relay, as one
 * `connectCall`. Owns one SignalingClient and one MediaSession at a time (docs/engine.md, "Ownership").
 * A lost signaling path is resumed (a new WebSocket joins with the `sessionId`; media never stopped); a
 * lost media path, or a resume the server no longer knows, is a full rejoin with a new PeerConnection.
 * Losses and their outcome go to the engine's state machine through `report`.
 */

export interface CallOptions {
  reconnect?: ReconnectPolicy
  signaling?: Partial<SignalingTimings>
  pacer?: MediaSessionOptions['pacer']
  remote?: MediaSessionOptions['remote']
  /** A PeerConnection that stays `disconnected` this long has lost its path. */
  mediaGraceMs?: number
  /** One reconnect attempt (signaling, join, media) gets this long. */
  attemptTimeoutMs?: number
  /** `rtcStats` / `networkQuality` every this many ms while in the call (default 2000). */
  statsIntervalMs?: number
}

export const CALL_DEFAULTS = { mediaGraceMs: 3000, attemptTimeoutMs: 10_000 } as const
/** Events held while joining, at most (a join that never completes cannot grow this without bound). */
const MAX_HELD_EVENTS = 1000

export function createConnectCall(options: CallOptions = {}): ConnectCall {
  return async (context) => {
    const call = new CallSession(context, options)
    await call.start()
    return call.handle()
  }
}

/** The engine's default call. */
export const connectCallSession: ConnectCall = createConnectCall()

type Phase = 'joining' | 'connected' | 'reconnecting' | 'closed'
type Loss = 'signal' | 'media'

class CallSession {
  private phase: Phase = 'joining'
  private signaling: SignalingClient | undefined
  private media: MediaSession | undefined
  private sessionId: string | undefined
  private mediaBroken = false
  /** What the server was last told we publish. */
  private published: LocalMediaState = { audio: false, video: false }
  private attempt: AbortController | undefined
  private mediaTimer: unknown
  private closing: Promise<void> | undefined
  private readonly closer = new AbortController()
  private held: (() => void)[] | undefined = []
  private readonly presence: Presence
  private readonly policy: ReconnectPolicy
  private readonly stats: CallStats
  /** The call's own copy: a region failover replaces its `proxy` and `transport`. */
  private readonly context: CallContext
  /** The rejoin under way goes through another region's proxy. */
  private reDispatched = false

  constructor(
    context: CallContext,
    private readonly options: CallOptions,
  ) {
    this.context = { ...context }
    this.presence = new Presence((event, ...args) => this.emit(event, ...args))
    this.policy = options.reconnect ?? backoffPolicy()
    this.stats = new CallStats({
      context: this.context,
      ...(options.statsIntervalMs === undefined ? {} : { intervalMs: options.statsIntervalMs }),
      media: () => this.media,
      condition: () =>
        this.phase === 'closed' ? 'off' : this.phase === 'reconnecting' && this.mediaBroken ? 'down' : 'up',
      emit: (event, ...args) => this.emit(event, ...args),
    })
  }

  async start(): Promise<void> {
    try {
      await this.connect(this.context.signal)
      this.phase = 'connected'
      // enableLocalAudio/Video may have changed while joining: the engine had no call to tell yet.
      const wanted = this.context.localMedia()
      for (const kind of ['audio', 'video'] as const) this.syncPublishing(kind, wanted[kind])
    } catch (error) {
      await this.close()
      throw error instanceof EngineError
        ? error
        : new EngineError(ErrorCode.Internal, String(error), { cause: error })
    }
  }

  /** Until the engine has reported the join, events wait (bounded), so that apps see Connected first. */
  private emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void {
    if (!this.held) return this.context.emit(event, ...args)
    this.held.push(() => this.context.emit(event, ...args))
    if (this.held.length > MAX_HELD_EVENTS) this.release()
  }

  private release(): void {
    const held = this.held ?? []
    this.held = undefined
    for (const emit of held) emit()
  }

  handle(): CallHandle {
    return {
      close: () => this.close(),
      joined: () => {
        this.release()
        this.stats.start()
      },
      setLocalMedia: (kind, enabled) => this.syncPublishing(kind, enabled),
      pushVideoFrame: (frame) => this.media?.sendVideoFrame(frame) ?? false,
      pushAudioFrame: (frame) => this.media?.sendAudioFrame(frame) ?? false,
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
    const signaling = await SignalingClient.open({
      url: context.transport.signalUrl,
      ...this.tlsPin(),
      ...(this.options.signaling ? { timings: this.options.signaling } : {}),
      signal,
      clock: context.clock,
      logger: context.logger,
    })
    try {
      const capabilities = { ...context.localMedia() }
      const request = { token: context.token, channel: context.channel, uid: context.uid, capabilities }
      const joined = await untilAborted(signaling.join(resume ? { ...request, resume } : request), signal)
      // The server kept our participant, but our PeerConnection is gone: werift cannot restart ICE/DTLS on
      // the server's side (docs/sfu.md), so only a full rejoin brings media back.
      const keepMedia = joined.resumed && this.media?.isConnected === true && !this.mediaBroken
      if (joined.resumed && !keepMedia) {
        this.mediaBroken = true
        throw new EngineError(ErrorCode.MediaLost, 'resumed without a media path; rejoining')
      }
      this.adoptSignaling(signaling)
      this.sessionId = joined.sessionId
      if (keepMedia) {
        for (const kind of ['audio', 'video'] as const) this.syncPublishing(kind, capabilities[kind])
      } else {
        this.published = capabilities
        this.replaceMedia()
      }
      this.presence.reset(joined.participants)
      signaling.deliver()
      if (!keepMedia) await untilAborted(this.media!.connected(signal), signal)
      context.logger.info({ resumed: joined.resumed, keepMedia }, 'call joined')
    } catch (error) {
      signaling.close()
      throw error
    }
  }

  private tlsPin(): {
    tls?: { host: string; port: number; pin: { fingerprintSha256: string; caPem?: string } }
  } {
    const proxy = this.context.proxy
    if (!proxy || !this.context.transport.signalUrl.startsWith('wss:')) return {}
    const { region, session } = proxy
    const pin = {
      fingerprintSha256: session.fingerprintSha256,
      ...(region.caPem === undefined ? {} : { caPem: region.caPem }),
    }
    return { tls: { host: region.proxyHost, port: region.ports.tcp, pin } }
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

  private replaceMedia(): void {
    void this.media?.close()
    const media = new MediaSession({
      rtcConfig: this.context.transport.rtcConfig,
      clock: this.context.clock,
      logger: this.context.logger,
      ...(this.options.pacer ? { pacer: this.options.pacer } : {}),
      ...(this.options.remote ? { remote: this.options.remote } : {}),
      counters: this.stats.counters,
    })
    this.media = media
    this.mediaBroken = false
    media.on('frame', (kind, frame) =>
      this.emit(kind === 'video' ? 'remoteVideoFrame' : 'remoteAudioFrame', frame),
    )
    media.on('keyFrameRequested', () => this.emit('keyFrameRequested'))
    media.on('state', (state) => {
      if (this.media === media) this.onMediaState(state)
    })
  }

  private onMessage(signaling: SignalingClient, message: ServerMessage): void {
    switch (message.type) {
      case 'offer':
        return this.answer(signaling, message)
      case 'userJoined':
        return this.presence.joined(message.uid)
      case 'userLeft':
        return this.presence.left(message.uid, message.reason)
      case 'trackPublished':
      case 'trackUnpublished':
        return this.presence.track(message.uid, message.kind, message.type === 'trackPublished')
      case 'kicked':
        return this.kicked(message.reason, message.message)
      case 'error':
        return this.context.logger.warn({ code: message.code, ref: message.ref }, message.message)
      case 'joined':
      case 'pong':
        return
      default:
        return assertNever(message, 'server message')
    }
  }

  private answer(signaling: SignalingClient, offer: OfferMessage): void {
    const media = this.media
    if (!media) return
    media.answer(offer).then(
      (sdp) => {
        if (this.media === media) signaling.send({ type: 'answer', seq: offer.seq, sdp })
      },
      (error: unknown) => this.context.logger.warn({ err: error, seq: offer.seq }, 'offer not applied'),
    )
  }

  private onMediaState(state: PeerState): void {
    this.context.logger.debug({ state }, 'media connection state')
    if (state === 'connected' || this.phase === 'closed') {
      this.context.clock.clearTimeout(this.mediaTimer)
      return
    }
    if (state === 'failed' || state === 'closed') return this.lost('media')
    if (state === 'disconnected') {
      const graceMs = this.options.mediaGraceMs ?? CALL_DEFAULTS.mediaGraceMs
      this.context.clock.clearTimeout(this.mediaTimer)
      this.mediaTimer = this.context.clock.setTimeout(() => this.lost('media'), graceMs)
    }
  }

  /** Tells the server what we publish when it differs from what it was told. */
  private syncPublishing(kind: MediaKind, enabled: boolean): void {
    if (this.published[kind] === enabled || !this.signaling) return
    if (this.signaling.send({ type: enabled ? 'publish' : 'unpublish', kind })) this.published[kind] = enabled
  }

  private kicked(reason: string, message: string): void {
    const error = new SignalingError(ErrorCode.Kicked, reason, message)
    if (this.phase === 'joining') return void this.attempt?.abort(error)
    if (this.phase === 'closed') return
    this.shutdown()
    this.context.report({ type: reason === 'serverKicked' ? 'kicked' : 'channelClosed' })
  }

  private lost(what: Loss): void {
    if (what === 'media') this.mediaBroken = true
    const code = what === 'signal' ? ErrorCode.SignalingLost : ErrorCode.MediaLost
    if (this.phase === 'joining' || this.phase === 'reconnecting') {
      this.attempt?.abort(new EngineError(code, 'lost while connecting'))
      return
    }
    if (this.phase !== 'connected') return
    this.phase = 'reconnecting'
    this.context.report({ type: what === 'signal' ? 'signalLost' : 'mediaLost' })
    void this.reconnect()
  }

  private async reconnect(): Promise<void> {
    const { clock, logger } = this.context
    const started = clock.now()
    for (let attempt = 0; ; attempt++) {
      const delay = this.policy.nextDelayMs(attempt, clock.now() - started)
      if (delay === undefined) return this.giveUp(attempt)
      const waited = await sleep(delay, clock, this.closer.signal).then(
        () => true,
        () => false,
      )
      if (!waited || this.phase !== 'reconnecting') return
      const limit = this.attemptLimit()
      // After a failed attempt, an auto region may move to another region's proxy first.
      const moved =
        attempt > 0
          ? await this.failover(limit.signal).then(
              () => undefined,
              (failure: unknown) => failure ?? new EngineError(ErrorCode.Internal, 'failover'),
            )
          : undefined
      if (this.phase !== 'reconnecting') return limit.clear()
      const resume = this.mediaBroken ? undefined : this.sessionId
      if (!resume) void this.dropAll()
      const error =
        moved ??
        (await this.connect(limit.signal, resume).then(
          () => undefined,
          (failure: unknown) => failure,
        ))
      limit.clear()
      if (this.phase !== 'reconnecting') return
      if (error === undefined) {
        this.phase = 'connected'
        const reDispatched = this.reDispatched
        this.reDispatched = false
        logger.info({ attempt, resumed: resume !== undefined, reDispatched }, 'call rejoined')
        return void this.context.report({ type: 'rejoined', reDispatched })
      }
      logger.info({ attempt, err: error }, 'rejoin attempt failed')
      if (isFatal(error)) return this.endWith(error)
      // A resume that failed: the path was down past a blip, and the relay allocation (a restarted proxy
      // forgot it) or the server's media side may have gone with it, while werift may never report the
      // PeerConnection lost. The next attempts rejoin in full, with a new PeerConnection.
      if (resume !== undefined) this.mediaBroken = true
    }
  }

  /** Region failover (CallContext.failover): a new proxy and transport; the rejoin is then a full one. */
  private async failover(signal: AbortSignal): Promise<void> {
    const { failover, proxy } = this.context
    if (!failover || !proxy) return
    const moved = await failover(proxy, signal)
    if (!moved || this.phase !== 'reconnecting') return
    this.context.logger.info(
      { from: proxy.region.id, to: moved.proxy?.region.id ?? 'direct', target: moved.transport.target },
      'call moved to another region',
    )
    this.context.proxy = moved.proxy
    this.context.transport = moved.transport
    this.mediaBroken = true
    this.reDispatched = true
  }

  /** The call's own abort (close) plus a deadline for one attempt. */
  private attemptLimit(): { signal: AbortSignal; clear: () => void } {
    const controller = new AbortController()
    const ms = this.options.attemptTimeoutMs ?? CALL_DEFAULTS.attemptTimeoutMs
    const timer = this.context.clock.setTimeout(
      () => controller.abort(new EngineError(ErrorCode.JoinTimeout, `rejoin attempt over ${ms} ms`)),
      ms,
    )
    return {
      signal: AbortSignal.any([this.closer.signal, controller.signal]),
      clear: () => this.context.clock.clearTimeout(timer),
    }
  }

  private giveUp(attempts: number): void {
    this.endWith(new EngineError(ErrorCode.ReconnectTimeout, `${attempts} attempts`))
  }

  /** Reconnecting cannot succeed: Failed (or Disconnected when someone else took our uid). */
  private endWith(error: unknown): void {
    this.shutdown()
    if (error instanceof EngineError && error.code === ErrorCode.Kicked) {
      return void this.context.report({ type: 'kicked' })
    }
    const engineError =
      error instanceof EngineError ? error : new EngineError(ErrorCode.Internal, String(error))
    this.context.report({ type: 'failed', error: engineError })
  }

  /** Before a full rejoin: the old connection and PeerConnection go (a stale one must not abort the new). */
  private dropAll(): Promise<void> {
    const signaling = this.signaling
    this.signaling = undefined
    signaling?.close()
    const media = this.media
    this.media = undefined
    this.context.clock.clearTimeout(this.mediaTimer)
    return media ? media.close() : Promise.resolve()
  }

  /** Stops everything without telling the server (it already ended the call, or cannot be reached). */
  private shutdown(): void {
    this.phase = 'closed'
    this.stats.stop()
    this.closer.abort(new EngineError(ErrorCode.JoinCanceled, 'call closed'))
    this.closing ??= this.dropAll()
  }

  /** leaveChannel: `leave` to the server (the others see "leave" at once), then everything closes. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    const signaling = this.signaling
    this.signaling = undefined
    this.shutdown()
    const closing = this.closing ?? Promise.resolve()
    this.closing = Promise.all([closing, signaling?.leave()]).then(() => undefined)
    return this.closing
  }
}

/** Refusals that another attempt cannot fix: the token, the uid, someone else taking our uid. */
function isFatal(error: unknown): boolean {
  if (!(error instanceof SignalingError)) return false
  return (
    error.code !== ErrorCode.ChannelFull &&
    error.signalCode !== 'server_full' &&
    error.signalCode !== 'server_draining'
  )
}
