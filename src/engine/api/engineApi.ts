import type { ConnectionState, EngineEvents, Region, RegionChoice, TransportType } from '../../shared/engine'
import type { VideoTrack } from '../../shared/mediaPort'
import type { ConnectCall } from '../call/call'
import type { EncodedAudioFrame, EncodedVideoFrame } from '../media/frames'
import type { CallOptions } from '../call/callOptions'
import type { Clock, EngineLogger, JoinStep, TransportBudgets } from '../defaults'
import type { Listener } from '../events'
import type { HttpProxyConfig } from '../route/httpProxy'
import type { ProbeOptions } from '../route/probe'
import type { RegionProber } from '../route/regions'
import type { AllocateFn, DirectConfig, DirectProbe } from '../route/pathSelect'
import type { WarmOptions } from '../route/warmSession'

/** The engine's public contract (docs/engine.md "API"): what createEngine takes and what it hands out. */

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
  /**
   * A corporate HTTP CONNECT proxy for everything on the proxy's TLS port: the session request, the wss
   * signaling, TURN over TLS (werift's included), region TLS probes. The certificate pin is checked end to
   * end inside the tunnel. UDP (TURN over UDP, STUN probes) goes direct. See docs/engine.md.
   */
  httpProxy?: HttpProxyConfig
  joinTimeoutMs?: number
  /** prepareJoin's session: how long it stays usable, how often it is asked again, for how long. */
  warm?: Partial<WarmOptions>
  /**
   * Each step of a join as it happens, with the ms since joinChannel (session request, signaling, TURN,
   * offer/answer, ICE, DTLS: docs/engine.md "Join round trips"). Not called on reconnects.
   */
  joinTimeline?: (step: JoinStep, elapsedMs: number) => void
  /**
   * Region `auto`: reconnect attempts in a row that may fail through a proxy that still answers sessions
   * and TURN before the call moves to another region (default 2; docs/engine.md "Routes and failover").
   */
  failoverAfterFailures?: number
  probe?: ProbeOptions
  /** Test seams. */
  allocate?: AllocateFn
  probeDirect?: DirectProbe
  probeRegion?: RegionProber
}

export interface JoinChannelOptions {
  /** Shown to the others on this participant's tiles; checked with DisplayNameSchema (414 when refused). */
  displayName?: string
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
  /**
   * Resolves 0 once joined, or with the error code (414 at once, before any packet, for uid 0 with a proxy
   * or a display name DisplayNameSchema refuses). `displayName` goes to everyone else in the channel.
   */
  joinChannel(token: string, channel: string, uid: number, options?: JoinChannelOptions): Promise<number>
  /**
   * Warm join: keeps a fresh proxy session ready for joinChannel with these arguments (docs/engine.md
   * "Join round trips", step W), so that it starts from there. Resolves 0 once the session is there, or
   * with the session's refusal; 414 at once (nothing sent) as joinChannel would; InvalidState without a
   * fixed region, in mode None, or in a channel. Dropped at the join (used or not), leave and release.
   */
  prepareJoin(token: string, channel: string, uid: number): Promise<number>
  leaveChannel(): Promise<number>
  /** Publish audio / video (default: audio on, video off); lives for the engine's lifetime. 0 or 414. */
  enableLocalAudio(enabled: boolean): number
  enableLocalVideo(enabled: boolean): number
  /**
   * Publish a screen share (NERTC's names): a second video track whose frames the app pushes with
   * `track: 'screen'`. 0, or InvalidState when already sharing (start) / not sharing (stop). Unlike the
   * camera it does not outlive a leave: leaveChannel stops it.
   */
  startScreenCapture(): number
  stopScreenCapture(): number
  /**
   * One encoded frame (WebCodecs chunk bytes, timestamp in µs) → RTP, paced. 0 when handed to the call;
   * 414 for a malformed frame; InvalidState when that kind is disabled or no media path is up. A video
   * frame with `track: 'screen'` goes out on the screen track (startScreenCapture first).
   */
  pushVideoFrame(frame: EncodedVideoFrame): number
  pushAudioFrame(frame: EncodedAudioFrame): number
  /**
   * Ask `uid` for a key frame of their video (an RTCP PLI, rate-limited with the engine's own: the renderer's
   * decoder failed or waits for one): the camera, or their shared screen with `track` `screen`. 0 when
   * asked (or folded into a request just made); 414 for a uid that is not one; InvalidState when no such
   * video of that user arrives (not in a call, or they do not publish it).
   */
  requestRemoteKeyFrame(uid: number, track?: VideoTrack): number
  /** Leaves, waits for probe allocations to be released, drops every listener. The engine is unusable after. */
  release(): Promise<void>
}
