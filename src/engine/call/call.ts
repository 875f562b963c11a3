import { TransportType, type EngineEvents } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { isChannelName, isUid } from '../../shared/joinRules'
import type { VideoTrack } from '../../shared/mediaPort'
import { DisplayNameSchema, type MediaKind } from '../../shared/signaling'
import type { Clock, EngineLogger, JoinMark } from '../defaults'
import type { HttpProxyConfig } from '../route/httpProxy'
import type { EncodedAudioFrame, EncodedVideoFrame } from '../media/frames'
import type { ProxyTarget, TransportSelection } from '../route/pathSelect'
import type { Relocation, Route } from '../route/proxyRouter'
import type { EarlySignaling } from './earlySignaling'

/**
 * The seam between the engine and the call (join over signaling, media): the engine prepares the proxy and
 * the transport, then hands a CallContext to an injected `connectCall`. The default is `connectCallSession`
 * (callSession.ts): signaling and media through the proxy. Tests inject their own.
 */

/** What the user publishes (enableLocalAudio / enableLocalVideo / startScreenCapture). */
export type LocalMediaState = Record<MediaKind, boolean>

/** In-call events a call implementation reports; the engine maps them onto the state machine. */
export type CallEvent =
  | { type: 'signalLost' }
  | { type: 'mediaLost' }
  | { type: 'reDispatch' }
  /** `reDispatched`: the rejoin went through another region's proxy (failover): Connected (reDispatch 12). */
  | { type: 'rejoined'; reDispatched?: boolean }
  | { type: 'kicked' }
  | { type: 'channelClosed' }
  /** Reconnecting gave up: Failed (timeout). */
  | { type: 'failed'; error: EngineError }

export interface CallContext {
  appKey: string | undefined
  token: string
  channel: string
  uid: number
  /** Sent in `join` (DisplayNameSchema, already checked): the others' tiles show it. */
  displayName?: string
  mode: TransportType
  /** Undefined when media goes direct. */
  proxy: ProxyTarget | undefined
  transport: TransportSelection
  /** Aborted by leaveChannel, release or the join timeout. */
  signal: AbortSignal
  report(event: CallEvent): void
  /** For the call's own events (users, frames, stats). */
  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void
  /** What the user publishes now (read at join and rejoin). */
  localMedia(): LocalMediaState
  logger: EngineLogger
  clock: Clock
  /** The join's timeline (`createEngine({ joinTimeline })`); a no-op once the join is over. */
  mark?: JoinMark
  /** The join's signaling connection, opened while the transport was selected (earlySignaling.ts). */
  early?: Pick<EarlySignaling, 'take'>
  /** TLS 443 (signaling, werift's TURN over TLS) through this corporate HTTP CONNECT proxy. */
  httpProxy?: HttpProxyConfig
  /**
   * Present whenever the call goes through a proxy (docs/engine.md "Routes and failover"). The call asks
   * before every reconnect attempt, giving the route it has and how many attempts in a row have failed
   * since the route last changed: the engine requests a fresh session from the current region (fresh TURN
   * credentials) and selects the transport again (a TURN probe allocation); with region `auto` it moves
   * to the best other region when the current one fails either, or after `failoverAfterFailures` failed
   * attempts. A route that differs is reported (`proxyConnected`) before this resolves. Rejects when no
   * route is found (a failed attempt).
   */
  reroute?: (current: Route, failures: number, signal: AbortSignal) => Promise<Relocation>
}

export interface CallHandle {
  close(): Promise<void>
  /**
   * The engine has reported the join (Connected, `joinChannel`): events the call emits from now on follow
   * them. A call may hold what it learnt while joining (users already present, first frames) until then.
   */
  joined?(): void
  /** enableLocalAudio / enableLocalVideo / start-stopScreenCapture while in the call. */
  setLocalMedia?(kind: MediaKind, enabled: boolean): void
  /** False when the frame cannot be sent now (media not connected, or too large for its codec's RTP). */
  pushVideoFrame?(frame: EncodedVideoFrame): boolean
  pushAudioFrame?(frame: EncodedAudioFrame): boolean
  /** A PLI for `uid`'s camera or screen (the renderer cannot decode it); false when no such video arrives now. */
  requestRemoteKeyFrame?(uid: number, track: VideoTrack): boolean
}

/** Joins over signaling and media; resolves once joined. Rejects with an EngineError when refused. */
export type ConnectCall = (context: CallContext) => Promise<CallHandle>

const MAX_TOKEN = 4096

/** The 414 rules (NERTC); nothing else happens before these pass. */
export function validateJoin(token: string, channel: string, uid: number, mode: TransportType): boolean {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN) return false
  // The signaling schema's own rules (src/shared/joinRules.ts): what passes here, the server takes.
  if (!isChannelName(channel) || !isUid(uid)) return false
  return !(uid === 0 && mode !== TransportType.None)
}

/** The default until the join flow exists: every join ends in CallUnavailable (honest, not a fake success). */
export const noCall: ConnectCall = () => Promise.reject(new EngineError(ErrorCode.CallUnavailable))

/** The display name DisplayNameSchema makes of the option (trimmed, NFC); undefined without one, null when refused. */
export function displayNameOf(options: unknown): string | undefined | null {
  if (options === undefined) return undefined
  if (typeof options !== 'object' || options === null) return null
  const raw = (options as { displayName?: unknown }).displayName
  if (raw === undefined) return undefined
  const parsed = DisplayNameSchema.safeParse(raw)
  return parsed.success ? parsed.data : null
}
