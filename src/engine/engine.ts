import {
  ConnectionState,
  TransportType,
  type EngineEvents,
  type Region,
  type RegionChoice,
  type RegionProbeResult,
} from '../shared/engine'
import { EngineError, ErrorCode } from '../shared/errors'
import {
  ENGINE_DEFAULTS,
  silentLogger,
  systemClock,
  type Clock,
  type EngineLogger,
  type TransportBudgets,
  untilAborted,
} from './defaults'
import {
  assertNever,
  validateJoin,
  type CallContext,
  type CallEvent,
  type CallHandle,
  type ConnectCall,
  type EncodedAudioFrame,
  type EncodedVideoFrame,
  type Relocation,
} from './call'
import { createConnectCall, type CallOptions } from './callSession'
import { TypedEmitter, type Listener } from './events'
import { LocalMedia } from './localMedia'
import type { ProbeOptions } from './probe'
import { requestProxySession } from './proxySession'
import { AUTO_REGION, parseRegions, pickFailoverRegion, pickRegion, type RegionProber } from './regions'
import { describeTransition, mustTransition, type ConnectionEvent } from './stateMachine'
import {
  selectTransport,
  type AllocateFn,
  type DirectConfig,
  type DirectProbe,
  type ProxyTarget,
  type SelectTransportInput,
  type TransportSelection,
} from './transportSelect'

export type {
  CallContext,
  CallEvent,
  CallHandle,
  ConnectCall,
  EncodedAudioFrame,
  EncodedVideoFrame,
} from './call'
export type { CallOptions } from './callSession'

/**
 * The engine's public API (DESIGN.md §4) and the NERTC cloud-proxy rules (§3): the proxy type is set for
 * the engine's lifetime and read at each join; with a proxy on, uid 0 fails with 414 before anything is
 * sent; every state change goes through the state machine. The call itself (signaling and media) is the
 * `connectCall` hook: by default callSession.ts, injectable for tests (docs/engine.md).
 */

export interface CreateEngineOptions {
  appKey?: string
  regions: Region[]
  logger?: EngineLogger
  /** Milliseconds for elapsed times; default performance.now. */
  now?: () => number
  /** Timers too (tests); `now` wins over clock.now when both are given. */
  clock?: Clock
  /** The call (signaling + media); default: callSession.ts built with `call`. */
  connectCall?: ConnectCall
  /** Options of the default call: reconnect policy, signaling timings, pacing. */
  call?: CallOptions
  /** The conference server for mode None (and Auto's first try). */
  direct?: DirectConfig
  budgets?: Partial<TransportBudgets>
  joinTimeoutMs?: number
  probe?: ProbeOptions
  /** Test seams. */
  allocate?: AllocateFn
  probeDirect?: DirectProbe
  probeRegion?: RegionProber
}

export interface Engine {
  on<K extends keyof EngineEvents>(event: K, listener: Listener<EngineEvents[K]>): Engine
  once<K extends keyof EngineEvents>(event: K, listener: Listener<EngineEvents[K]>): Engine
  off<K extends keyof EngineEvents>(event: K, listener: Listener<EngineEvents[K]>): Engine
  /** 0, or 414 for a value outside 0–3. Takes effect at the next join. */
  setCloudProxy(type: TransportType): number
  getCloudProxy(): TransportType
  /** 0, or RegionUnknown. 'auto' probes the regions at each join. */
  setRegion(choice: RegionChoice): number
  getConnectionState(): ConnectionState
  /** Resolves 0 once joined, or with the error code (414 at once, before any packet, for uid 0 with a proxy). */
  joinChannel(token: string, channel: string, uid: number): Promise<number>
  leaveChannel(): Promise<number>
  /** Publish audio / video (default: audio on, video off); lives for the engine's lifetime. 0 or 414. */
  enableLocalAudio(enabled: boolean): number
  enableLocalVideo(enabled: boolean): number
  /**
   * One encoded frame (WebCodecs chunk bytes, timestamp in µs) → RTP, paced. 0 when handed to the call;
   * 414 for a malformed frame; InvalidState when that kind is disabled or no media path is up.
   */
  pushVideoFrame(frame: EncodedVideoFrame): number
  pushAudioFrame(frame: EncodedAudioFrame): number
  /** Leaves, waits for probe allocations to be released, drops every listener. The engine is unusable after. */
  release(): Promise<void>
}

export function createEngine(options: CreateEngineOptions): Engine {
  return new RtcEngine(options)
}

interface ActiveJoin {
  controller: AbortController
  channel: string
  uid: number
  mode: TransportType
  /** setRegion as it was at joinChannel. */
  regionChoice: RegionChoice
  started: number
  /** 'request' until the proxy is connected and a transport chosen, then 'call'. */
  stage: 'request' | 'call'
  call?: CallHandle
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
  private readonly cleanups = new Set<Promise<unknown>>()
  private readonly localMedia = new LocalMedia()
  private readonly connectCall: ConnectCall

  constructor(private readonly options: CreateEngineOptions) {
    const logger = options.logger ?? silentLogger
    super((event, error) => logger.error({ event, err: error }, 'an engine event listener threw'))
    this.logger = logger
    const base = options.clock ?? systemClock
    this.clock = options.now ? { ...base, now: options.now } : base
    this.regions = parseRegions(options.regions)
    this.connectCall = options.connectCall ?? createConnectCall(options.call)
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

  pushVideoFrame(frame: EncodedVideoFrame): number {
    return this.released ? ErrorCode.EngineReleased : this.localMedia.pushVideo(frame, this.active?.call)
  }

  pushAudioFrame(frame: EncodedAudioFrame): number {
    return this.released ? ErrorCode.EngineReleased : this.localMedia.pushAudio(frame, this.active?.call)
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

  async joinChannel(token: string, channel: string, uid: number): Promise<number> {
    if (this.released) return ErrorCode.EngineReleased
    // Read once: a setCloudProxy during this call applies to the next one.
    const mode = this.proxyType
    if (!validateJoin(token, channel, uid, mode)) {
      this.logger.warn({ channel, uid, mode }, 'joinChannel: request parameter error (414), nothing sent')
      return ErrorCode.RequestParameter
    }
    if (this.state !== ConnectionState.Disconnected && this.state !== ConnectionState.Failed) {
      return ErrorCode.InvalidState
    }
    const active: ActiveJoin = {
      controller: new AbortController(),
      channel,
      uid,
      mode,
      regionChoice: this.regionChoice,
      started: this.clock.now(),
      stage: 'request',
    }
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
    let proxy: ProxyTarget | undefined
    const transport = await selectTransport({
      ...this.transportOptions(active.mode, signal),
      proxy: async () => (proxy = await this.proxyFor(active, token, signal)),
    })
    this.track(transport.released)
    this.checkCurrent(active)
    if (proxy && transport.transport !== 'direct')
      this.proxyConnected(active, proxy, transport, active.started)
    active.stage = 'call'
    const call = await this.connectCall(this.callContext(active, token, proxy, transport))
    if (signal.aborted || this.active !== active) {
      await call.close()
      this.checkCurrent(active)
    }
    active.call = call
  }

  private transportOptions(mode: TransportType, signal: AbortSignal): Omit<SelectTransportInput, 'proxy'> {
    return {
      mode,
      ...(this.options.direct ? { direct: this.options.direct } : {}),
      ...(this.options.budgets ? { budgets: this.options.budgets } : {}),
      ...(this.options.allocate ? { allocate: this.options.allocate } : {}),
      ...(this.options.probeDirect ? { probeDirect: this.options.probeDirect } : {}),
      signal,
      clock: this.clock,
    }
  }

  private proxyConnected(
    active: ActiveJoin,
    proxy: ProxyTarget,
    transport: TransportSelection,
    since: number,
  ): void {
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

  /** The region (`auto`: probed; after a failover: the best other than `failed`), then its proxy session. */
  private async proxyFor(
    active: ActiveJoin,
    token: string,
    signal: AbortSignal,
    failed?: string,
  ): Promise<ProxyTarget> {
    const options = {
      ...this.options.probe,
      udp: active.mode !== TransportType.TCPProxy,
      signal,
      clock: this.clock,
      onProbe: (result: RegionProbeResult) => {
        if (this.active === active) this.emit('regionProbe', result)
      },
      ...(this.options.probeRegion ? { probe: this.options.probeRegion } : {}),
    }
    const { region } =
      failed === undefined
        ? await pickRegion(this.regions, active.regionChoice, options)
        : await pickFailoverRegion(this.regions, failed, options)
    this.checkCurrent(active)
    const session = await requestProxySession(region, token, { signal, clock: this.clock })
    this.logger.info({ region: region.id, elapsedMs: session.elapsedMs }, 'proxy session')
    return { region, session }
  }

  /**
   * CallContext.failover (region `auto` only): while Reconnecting, when the current region's proxy no
   * longer answers its session request, re-run region selection over the other regions, get a session
   * there and select the transport again; reports `proxyConnected` for the new region.
   */
  private async failover(
    active: ActiveJoin,
    token: string,
    current: ProxyTarget,
    signal: AbortSignal,
  ): Promise<Relocation | undefined> {
    const started = this.clock.now()
    const answers = await requestProxySession(current.region, token, { signal, clock: this.clock }).then(
      () => true,
      (error: unknown) => {
        if (signal.aborted) throw error
        this.logger.warn(
          { region: current.region.id, err: error },
          'proxy stopped answering: region failover',
        )
        return false
      },
    )
    this.checkCurrent(active)
    if (answers) return undefined
    let proxy: ProxyTarget | undefined
    const transport = await selectTransport({
      ...this.transportOptions(active.mode, signal),
      proxy: async () => (proxy = await this.proxyFor(active, token, signal, current.region.id)),
    })
    this.track(transport.released)
    this.checkCurrent(active)
    if (transport.transport === 'direct') return { proxy: undefined, transport }
    if (proxy) this.proxyConnected(active, proxy, transport, started)
    return { proxy, transport }
  }

  private callContext(
    active: ActiveJoin,
    token: string,
    proxy: ProxyTarget | undefined,
    transport: TransportSelection,
  ): CallContext {
    return {
      appKey: this.options.appKey,
      token,
      channel: active.channel,
      uid: active.uid,
      mode: active.mode,
      proxy: transport.transport === 'direct' ? undefined : proxy,
      transport,
      signal: active.controller.signal,
      report: (event) => this.onCallEvent(active, event),
      emit: (event, ...args) => {
        if (this.active === active) this.emit(event, ...args)
      },
      localMedia: () => this.localMedia.current(),
      logger: this.logger,
      clock: this.clock,
      ...(active.regionChoice === AUTO_REGION && proxy && transport.transport !== 'direct'
        ? { failover: (current, signal) => this.failover(active, token, current, signal) }
        : {}),
    }
  }

  /** Throws JoinCanceled (or the timeout) when this join is no longer the current one. */
  private checkCurrent(active: ActiveJoin): void {
    const { signal } = active.controller
    if (signal.aborted) {
      throw signal.reason instanceof EngineError ? signal.reason : new EngineError(ErrorCode.JoinCanceled)
    }
    if (this.active !== active) throw new EngineError(ErrorCode.JoinCanceled)
  }

  private joinFailed(active: ActiveJoin, error: unknown): number {
    // A leave (or a newer join) already moved the state on: this join just reports that it was canceled.
    if (this.active !== active) return ErrorCode.JoinCanceled
    const reason: unknown = active.controller.signal.aborted ? active.controller.signal.reason : error
    const engineError =
      reason instanceof EngineError
        ? reason
        : new EngineError(ErrorCode.Internal, String(reason), { cause: reason })
    if (!(reason instanceof EngineError)) this.logger.error({ err: reason }, 'joinChannel: unexpected error')
    active.controller.abort(engineError)
    const event: ConnectionEvent =
      engineError.code === ErrorCode.JoinTimeout
        ? 'timeout'
        : active.stage === 'request'
          ? 'requestChannelFailed'
          : 'joinFailed'
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
        return assertNever(event)
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
      this.track(
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
    active.controller.abort(new EngineError(ErrorCode.JoinCanceled, 'leaveChannel'))
    this.move('leave')
    this.closeCall(active)
    await this.settleCleanups()
    this.emit('leaveChannel', ErrorCode.Ok)
    return ErrorCode.Ok
  }

  async release(): Promise<void> {
    if (this.released) return
    if (this.active && this.state !== ConnectionState.Disconnected) await this.leaveChannel()
    this.released = true
    await this.settleCleanups()
    this.removeAllListeners()
  }

  /** Probe releases and call closes, bounded: a call hook that never closes cannot hang leave or release. */
  private async settleCleanups(): Promise<void> {
    let timer: unknown
    const cap = new Promise<void>(
      (resolve) => (timer = this.clock.setTimeout(resolve, ENGINE_DEFAULTS.cleanupWaitMs)),
    )
    await Promise.race([Promise.allSettled([...this.cleanups]), cap])
    this.clock.clearTimeout(timer)
  }

  private move(event: ConnectionEvent): void {
    const from = this.state
    const next = mustTransition(from, event)
    this.state = next.state
    this.logger.info({ from, to: next.state, reason: next.reason }, describeTransition(from, next))
    this.emit('connectionStateChanged', next.state, next.reason)
  }

  private track(promise: Promise<unknown>): void {
    this.cleanups.add(promise)
    const done = (): void => void this.cleanups.delete(promise)
    promise.then(done, done)
  }
}
