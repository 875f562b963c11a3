import { untilAborted, type Clock, type EngineLogger, type JoinMark } from '../defaults'
import type { HttpProxyConfig } from '../route/httpProxy'
import type { ProxyTarget } from '../route/pathSelect'
import { connectPinnedTls, pinOf, type PinnedTls } from '../route/tlsPin'
import type { Region } from '../../shared/engine'
import type { MediaKind } from '../../shared/signaling'
import {
  joinKey,
  SIGNALING_DEFAULTS,
  signalingTls,
  SignalingClient,
  type JoinRequest,
  type SignalingOptions,
  type SignalingTimings,
} from './signalingClient'

/**
 * The join's signaling connection (docs/engine.md "Join round trips"): its TCP and TLS handshakes run
 * beside the session request, and its WebSocket upgrade as soon as the session is known, while the
 * transport is selected (the probe allocation: 2 round trips over UDP, 4 over TLS) instead of after it. The signaling
 * URL and pin come from the session alone; the call takes the connection when it starts (`take`), and
 * whatever is not taken — the join failed before the call, or the call goes elsewhere — is closed.
 */
export interface EarlySignalingDeps {
  signal: AbortSignal
  clock: Clock
  logger: EngineLogger
  timings?: Partial<SignalingTimings>
  httpProxy?: HttpProxyConfig
  /** The join's timeline: `signalingOpen` when the handshakes are done, not when the call takes it. */
  mark?: JoinMark
  /** The call's join request as it would be now: sent as soon as the connection is open. */
  join?: () => JoinRequest
}

export class EarlySignaling {
  private opening: Promise<SignalingClient> | undefined
  private url: string | undefined
  /** joinKey of the join sent early, if any. */
  private joined: string | undefined
  private preconnected: { target: string; tls: Promise<PinnedTls> } | undefined

  constructor(private readonly deps: EarlySignalingDeps) {}

  /**
   * RouteRequest.onSessionRequest: TCP and TLS to the proxy's TCP port, pinned as the session request pins
   * it, while the session request runs (2 round trips off the path); `open` then only upgrades it, once the
   * session has given the signaling URL (a cluster's carries a route ticket) and the certificate it saw.
   */
  preconnect(region: Region): void {
    if (this.preconnected || this.url !== undefined) return
    const { signal, clock, timings, httpProxy } = this.deps
    const { proxyHost: host, ports } = region
    const tls = connectPinnedTls(host, ports.tcp, pinOf(region), {
      timeoutMs: timings?.connectTimeoutMs ?? SIGNALING_DEFAULTS.connectTimeoutMs,
      alpn: ['http/1.1'],
      signal,
      clock,
      ...(httpProxy ? { httpProxy } : {}),
    })
    tls.catch(() => undefined)
    this.preconnected = { target: `${host}:${ports.tcp}`, tls }
  }

  /**
   * The preconnected TLS for `tls` (same host and port, and the certificate the session request saw), or
   * undefined (the signaling client then connects afresh); one not used is closed.
   */
  private claim(tls: SignalingOptions['tls']): Promise<PinnedTls | undefined> | undefined {
    const pre = this.preconnected
    this.preconnected = undefined
    if (!pre) return undefined
    const expected = tls?.pin.fingerprintSha256?.toUpperCase()
    const usable = tls !== undefined && pre.target === `${tls.host}:${tls.port}` && expected !== undefined
    return pre.tls.then(
      (connection) => {
        if (usable && connection.fingerprintSha256.toUpperCase() === expected) return connection
        connection.socket.destroy()
        return undefined
      },
      () => undefined,
    )
  }

  /** RouteRequest.onSession: starts the handshakes (once; a later session of the same join is ignored). */
  open(target: ProxyTarget): void {
    if (this.url !== undefined) return
    const { signal, clock, logger, timings, httpProxy } = this.deps
    const url = target.session.info.signalUrl
    this.url = url
    const { tls } = signalingTls(target, url, httpProxy)
    const connected = this.claim(tls)
    const request = this.deps.join?.()
    this.joined = request ? joinKey(request) : undefined
    const opening = SignalingClient.open({
      url,
      ...(tls ? { tls: { ...tls, ...(connected ? { connected } : {}) } } : {}),
      ...(timings ? { timings } : {}),
      signal,
      clock,
      logger,
    }).then((client) => {
      // `join` goes at once, while the transport may still be selected: `joined` and the offer wait
      // in the client (held) until the call takes it.
      if (request) client.joinEarly(request)
      return client
    })
    // Awaited by the call, or closed by discard(); a failure is the call's to report, not unhandled here.
    opening.then(() => this.deps.mark?.('signalingOpen')).catch(() => undefined)
    this.opening = opening
  }

  /**
   * The connection being opened to `url`, once, if the join sent on it (if any) is `request`; otherwise
   * it is closed (the call opens its own).
   */
  take(url: string, request?: JoinRequest): Promise<SignalingClient> | undefined {
    const opening = this.opening
    this.opening = undefined
    const sameJoin = this.joined === undefined || (request !== undefined && joinKey(request) === this.joined)
    if (!opening || (url === this.url && sameJoin)) return opening
    opening.then((client) => client.close()).catch(() => undefined)
    return undefined
  }

  /** Closes the connection (or the preconnected TLS) if nobody took it. */
  discard(): void {
    void this.claim(undefined)
    this.take('')
  }
}

/**
 * The call's signaling connection: the early one when it was opened to `options.url` (awaited within
 * `options.signal`; one that opens after the abort is closed), else a new one.
 */
export function openSignaling(
  early: Pick<EarlySignaling, 'take'> | undefined,
  request: JoinRequest | undefined,
  options: SignalingOptions & { signal: AbortSignal },
): Promise<SignalingClient> {
  const opening = early?.take(options.url, request)
  if (!opening) return SignalingClient.open(options)
  return untilAborted(opening, options.signal).catch((error: unknown) => {
    opening.then((client) => client.close()).catch(() => undefined)
    throw error
  })
}

/** The `join` request of a call (without `resume`). */
export function joinRequestOf(
  who: { token: string; channel: string; uid: number; displayName?: string },
  capabilities: Record<MediaKind, boolean>,
): JoinRequest {
  const { token, channel, uid, displayName } = who
  return { token, channel, uid, capabilities, ...(displayName === undefined ? {} : { displayName }) }
}

/** The engine's options this reads: early signaling is the default call's (an injected call opens its own). */
export interface EarlyOptions {
  connectCall?: unknown
  call?: { signaling?: Partial<SignalingTimings> }
  httpProxy?: HttpProxyConfig
}

/** An EarlySignaling for one join with the default call; undefined with an injected one. */
export function earlySignaling(
  options: EarlyOptions,
  deps: Omit<EarlySignalingDeps, 'timings' | 'httpProxy'>,
): EarlySignaling | undefined {
  if (options.connectCall) return undefined
  const timings = options.call?.signaling
  return new EarlySignaling({
    ...deps,
    ...(timings ? { timings } : {}),
    ...(options.httpProxy ? { httpProxy: options.httpProxy } : {}),
  })
}
