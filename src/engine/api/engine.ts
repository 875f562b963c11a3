import {
  ConnectionState,
  TransportType,
  type EngineEvents,
  type Region,
  type RegionChoice,
} from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { VideoTrack } from '../../shared/mediaPort'
import { assertNever } from '../../shared/signaling'
import {
  ENGINE_DEFAULTS,
  silentLogger,
  systemClock,
  type Clock,
  type EngineLogger,
  definedOf,
  untilAborted,
} from '../defaults'
import { displayNameOf, validateJoin, type CallContext, type CallEvent, type ConnectCall } from '../call/call'
import type { EncodedAudioFrame, EncodedVideoFrame } from '../media/frames'
import { joinFailure, newActiveJoin, throwUnlessCurrent, type ActiveJoin } from './activeJoin'
import { Cleanups } from './cleanups'
import { createConnectCall } from '../call/callSession'
import { earlySignaling, joinRequestOf } from '../call/earlySignaling'
import type { JoinRequest } from '../call/signalingClient'
import type { CreateEngineOptions, Engine, JoinChannelOptions } from './engineApi'
import { TypedEmitter } from '../events'
import { LocalMedia } from './localMedia'
import {
  ProxyRouter,
  routeChanged,
  type Relocation,
  type Route,
  type RouteRequest,
} from '../route/proxyRouter'
import { AUTO_REGION, parseRegions } from '../route/regions'
import { warmKeyOf, warmSessionFor, type WarmSession } from '../route/warmSession'
import { describeTransition, mustTransition, type ConnectionEvent } from './stateMachine'

/**
 * The engine's public API (docs/engine.md "API") and the NERTC cloud-proxy rules (docs/architecture.md "Proxy
 * modes"): the proxy type is set for the engine's lifetime and read at each join; with a proxy on, uid 0
 * fails with 414 before anything is sent; every state change goes through the state machine. The call itself
 * (signaling and media) is the `connectCall` hook: by default call/callSession.ts, injectable for tests
 * (docs/engine.md).
 */

export function createEngine(options: CreateEngineOptions): Engine {
  return new RtcEngine(options)
}

/** A TypedEmitter underneath; createEngine hands out the Engine interface, which has no emit. */
class RtcEngine extends TypedEmitter<EngineEvents> implements Engine {
  private readonly logger: EngineLogger
  private readonly clock: Clock
  private readonly regions: Region[]
  private state: ConnectionState = ConnectionState.Disconnected
  private proxyType: TransportType = TransportType.None
  private regionChoice: RegionChoice = AUTO_REGION
  private active: ActiveJoin | undefined
  private released = false
  private readonly cleanups: Cleanups
  private readonly localMedia = new LocalMedia()
  private readonly connectCall: ConnectCall
  private readonly router: ProxyRouter
  private readonly warm: WarmSession

  constructor(private readonly options: CreateEngineOptions) {
    const logger = options.logger ?? silentLogger
    super((event, error) => logger.error({ event, err: error }, 'an engine event listener threw'))
    this.logger = logger
    const base = options.clock ?? systemClock
    this.clock = options.now ? { ...base, now: options.now } : base
    this.regions = parseRegions(options.regions)
    this.connectCall = options.connectCall ?? createConnectCall(options.call)
    this.cleanups = new Cleanups(this.clock, ENGINE_DEFAULTS.cleanupWaitMs)
    this.router = new ProxyRouter({
      regions: this.regions,
      clock: this.clock,
      logger,
      ...definedOf(options, ['probe', 'probeRegion', 'direct', 'budgets', 'allocate', 'probeDirect']),
      ...definedOf(options, ['failoverAfterFailures', 'httpProxy']),
      track: (released) => this.cleanups.track(released),
    })
    this.warm = warmSessionFor(options, { clock: this.clock, logger, track: (r) => this.cleanups.track(r) })
  }

  enableLocalAudio(enabled: boolean): number {
    return this.released
      ? ErrorCode.EngineReleased
      : this.localMedia.enable('audio', enabled, this.active?.call)
  }

  enableLocalVideo(enabled: boolean): number {
    return this.released
      ? ErrorCode.EngineReleased
      : this.localMedia.enable('video', enabled, this.active?.call)
  }

  startScreenCapture(): number {
    return this.released ? ErrorCode.EngineReleased : this.localMedia.screen(true, this.active?.call)
  }

  stopScreenCapture(): number {
    return this.released ? ErrorCode.EngineReleased : this.localMedia.screen(false, this.active?.call)
  }

  pushVideoFrame(frame: EncodedVideoFrame): number {
    return this.released ? ErrorCode.EngineReleased : this.localMedia.pushVideo(frame, this.active?.call)
  }

  pushAudioFrame(frame: EncodedAudioFrame): number {
    return this.released ? ErrorCode.EngineReleased : this.localMedia.pushAudio(frame, this.active?.call)
  }

  requestRemoteKeyFrame(uid: number, track?: VideoTrack): number {
    if (this.released) return ErrorCode.EngineReleased
    return this.localMedia.requestRemoteKeyFrame(uid, track, this.active?.call)
  }

  setCloudProxy(type: TransportType): number {
    if (this.released) return ErrorCode.EngineReleased
    if (!Object.values(TransportType).includes(type)) return ErrorCode.RequestParameter
    this.proxyType = type
    const inChannel = this.state !== ConnectionState.Disconnected
    this.logger.info({ type, appliesAt: inChannel ? 'next join' : 'join' }, 'cloud proxy set')
    return ErrorCode.Ok
  }

  getCloudProxy(): TransportType {
    return this.proxyType
  }

  setRegion(choice: RegionChoice): number {
    if (this.released) return ErrorCode.EngineReleased
    if (choice !== AUTO_REGION && !this.regions.some((region) => region.id === choice)) {
      return ErrorCode.RegionUnknown
    }
    this.regionChoice = choice
    return ErrorCode.Ok
  }

  getConnectionState(): ConnectionState {
    return this.state
  }

  prepareJoin(token: string, channel: string, uid: number): Promise<number> {
    if (this.released) return Promise.resolve(ErrorCode.EngineReleased)
    const region = this.regions.find((r) => r.id === this.regionChoice)
    const valid = validateJoin(token, channel, uid, this.proxyType)
    const key = warmKeyOf({ token, channel, uid, mode: this.proxyType, region, state: this.state, valid })
    return typeof key === 'number' ? Promise.resolve(key) : this.warm.prepare(key)
  }

  async joinChannel(
    token: string,
    channel: string,
    uid: number,
    options: JoinChannelOptions = {},
  ): Promise<number> {
    if (this.released) return ErrorCode.EngineReleased
    // Read once: a setCloudProxy during this call applies to the next one.
    const mode = this.proxyType
    const displayName = displayNameOf(options)
    if (!validateJoin(token, channel, uid, mode) || displayName === null) {
      this.logger.warn({ channel, uid, mode }, 'joinChannel: request parameter error (414), nothing sent')
      return ErrorCode.RequestParameter
    }
    if (this.state !== ConnectionState.Disconnected && this.state !== ConnectionState.Failed) {
      return ErrorCode.InvalidState
    }
    const active = newActiveJoin(
      { channel, uid, ...(displayName === undefined ? {} : { displayName }), mode },
      { regionChoice: this.regionChoice, clock: this.clock, timeline: this.options.joinTimeline },
      (join) => this.active === join && this.state === ConnectionState.Connecting,
    )
    this.active = active
    this.move('join')
    const timeoutMs = this.options.joinTimeoutMs ?? ENGINE_DEFAULTS.joinTimeoutMs
    const timer = this.clock.setTimeout(
      () => active.controller.abort(new EngineError(ErrorCode.JoinTimeout, `${timeoutMs} ms`)),
      timeoutMs,
    )
    try {
      // The join settles at the timeout or leave even if a stage is slow to notice; the stage then finds
      // itself no longer current and undoes what it made (connect() checks after every await).
      await untilAborted(this.connect(active, token), active.controller.signal)
      this.move('joinSucceeded')
      this.emit('joinChannel', ErrorCode.Ok, channel, uid, this.clock.now() - active.started)
      active.call?.joined?.()
      return ErrorCode.Ok
    } catch (error) {
      return this.joinFailed(active, error)
    } finally {
      this.clock.clearTimeout(timer)
    }
  }

  /** Region → proxy session → transport → proxyConnected → connectCall. */
  private async connect(active: ActiveJoin, token: string): Promise<void> {
    const { signal } = active.controller
    const { clock, logger, options } = this
    const join = (): JoinRequest => joinRequestOf({ token, ...active }, this.localMedia.current())
    active.early = earlySignaling(options, { signal, clock, logger, mark: active.mark, join })
    let route: Route | undefined
    try {
      route = await this.router.connect(this.routeRequest(active, token))
      if (route.proxy) this.proxyConnected(active, route, active.started)
      active.stage = 'call'
      const call = await this.connectCall(this.callContext(active, token, route))
      if (signal.aborted || this.active !== active) {
        await call.close()
        this.checkCurrent(active)
      }
      active.call = call
    } finally {
      active.early?.discard()
      if (route?.transport.relay) this.cleanups.track(route.transport.relay.discard())
    }
  }

  private routeRequest(active: ActiveJoin, token: string, signal = active.controller.signal): RouteRequest {
    return {
      mode: active.mode,
      regionChoice: active.regionChoice,
      token,
      signal,
      checkCurrent: () => this.checkCurrent(active),
      onProbe: (result) => {
        if (this.active === active) this.emit('regionProbe', result)
      },
      mark: active.mark,
      onSessionRequest: (region, kept) => active.early?.preconnect(region, kept),
      onSession: (target) => active.early?.open(target),
      prepared: (region) => this.warm.take({ ...active, region, token }),
    }
  }

  private proxyConnected(active: ActiveJoin, route: Route, since: number): void {
    const { proxy, transport } = route
    if (!proxy) return
    this.move('proxyConnected')
    this.emit('proxyConnected', {
      type: active.mode,
      regionId: proxy.region.id,
      proxyAddress: transport.target,
      transport: transport.transport,
      elapsedMs: this.clock.now() - since,
      attempts: transport.attempts,
    })
  }

  /**
   * CallContext.reroute: before a reconnect attempt, a fresh proxy session and transport (ProxyRouter);
   * a route that differs from the call's (another region, another transport) is reported with
   * `proxyConnected` (Reconnecting, settingProxyServer).
   */
  private async reroute(
    active: ActiveJoin,
    token: string,
    current: Route,
    failures: number,
    signal: AbortSignal,
  ): Promise<Relocation> {
    const started = this.clock.now()
    const { proxy } = current
    if (!proxy) throw new RangeError('reroute: the call does not go through a proxy')
    const request = this.routeRequest(active, token, signal)
    const { route, moved } = await this.router.reroute(request, proxy, failures)
    if (routeChanged(current, route)) this.proxyConnected(active, route, started)
    return { ...route, moved }
  }

  private callContext(active: ActiveJoin, token: string, route: Route): CallContext {
    return {
      appKey: this.options.appKey,
      token,
      channel: active.channel,
      uid: active.uid,
      ...(active.displayName === undefined ? {} : { displayName: active.displayName }),
      mode: active.mode,
      proxy: route.proxy,
      transport: route.transport,
      signal: active.controller.signal,
      report: (event) => this.onCallEvent(active, event),
      emit: (event, ...args) => {
        if (this.active === active) this.emit(event, ...args)
      },
      localMedia: () => this.localMedia.current(),
      logger: this.logger,
      clock: this.clock,
      mark: active.mark,
      ...(active.early ? { early: active.early } : {}),
      ...definedOf(this.options, ['httpProxy']),
      ...(route.proxy
        ? {
            reroute: (current: Route, failures: number, signal: AbortSignal) =>
              this.reroute(active, token, current, failures, signal),
          }
        : {}),
    }
  }

  /** Throws JoinCanceled (or the timeout) when this join is no longer the current one. */
  private checkCurrent(active: ActiveJoin): void {
    throwUnlessCurrent(active, this.active === active)
  }

  private joinFailed(active: ActiveJoin, error: unknown): number {
    // A leave (or a newer join) already moved the state on: this join just reports that it was canceled.
    if (this.active !== active) return ErrorCode.JoinCanceled
    const { engineError, event, unexpected } = joinFailure(active, error)
    if (unexpected !== undefined) this.logger.error({ err: unexpected }, 'joinChannel: unexpected error')
    active.controller.abort(engineError)
    this.move(event)
    this.emit('error', engineError.toInfo())
    const elapsed = this.clock.now() - active.started
    this.emit('joinChannel', engineError.code, active.channel, active.uid, elapsed)
    return engineError.code
  }

  private onCallEvent(active: ActiveJoin, event: CallEvent): void {
    if (this.active !== active) return
    switch (event.type) {
      case 'signalLost':
        this.move('signalLost')
        return void this.emit('warning', new EngineError(ErrorCode.SignalingLost).toInfo())
      case 'mediaLost':
        this.move('mediaLost')
        return void this.emit('warning', new EngineError(ErrorCode.MediaLost).toInfo())
      case 'reDispatch':
        return this.move('reDispatch')
      case 'rejoined':
        this.move(event.reDispatched ? 'reDispatchSucceeded' : 'rejoinSucceeded')
        return void this.emit('rejoinChannel', ErrorCode.Ok, active.channel, active.uid)
      case 'kicked':
      case 'channelClosed':
        return this.ended(active, event.type)
      case 'failed':
        this.move('timeout')
        return void this.emit('error', event.error.toInfo())
      default:
        return assertNever(event, 'call event')
    }
  }

  /** The server ended the call: Disconnected, and the call is closed. */
  private ended(active: ActiveJoin, type: 'kicked' | 'channelClosed'): void {
    this.active = undefined
    active.controller.abort(new EngineError(ErrorCode.JoinCanceled, type))
    this.move(type)
    const code = type === 'kicked' ? ErrorCode.Kicked : ErrorCode.ChannelClosed
    this.emit('error', new EngineError(code).toInfo())
    this.closeCall(active)
  }

  private closeCall(active: ActiveJoin): void {
    const call = active.call
    active.call = undefined
    if (call) {
      this.cleanups.track(
        call.close().catch((error: unknown) => this.logger.warn({ err: error }, 'closing the call failed')),
      )
    }
  }

  async leaveChannel(): Promise<number> {
    if (this.released) return ErrorCode.EngineReleased
    const active = this.active
    if (!active || this.state === ConnectionState.Disconnected) return ErrorCode.InvalidState
    // State first, so that the join being canceled sees it is no longer current.
    this.active = undefined
    this.warm.clear()
    active.controller.abort(new EngineError(ErrorCode.JoinCanceled, 'leaveChannel'))
    this.localMedia.endScreen()
    this.move('leave')
    this.closeCall(active)
    await this.cleanups.settle()
    this.emit('leaveChannel', ErrorCode.Ok)
    return ErrorCode.Ok
  }

  async release(): Promise<void> {
    if (this.released) return
    if (this.active && this.state !== ConnectionState.Disconnected) await this.leaveChannel()
    this.released = true
    this.warm.clear()
    await this.cleanups.settle()
    this.removeAllListeners()
  }

  private move(event: ConnectionEvent): void {
    const from = this.state
    const next = mustTransition(from, event)
    this.state = next.state
    this.logger.info({ from, to: next.state, reason: next.reason }, describeTransition(from, next))
    this.emit('connectionStateChanged', next.state, next.reason)
  }
}
