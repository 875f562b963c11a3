import { isIP } from 'node:net'
import { untilAborted, type Clock, type EngineLogger, type JoinMark } from '../defaults'
import type { HttpProxyConfig } from '../route/httpProxy'
import type { ProxyTarget } from '../route/pathSelect'
import type { Preconnected } from '../route/preconnect'
import { pinOf } from '../route/tlsPin'
import type { Region } from '../../shared/engine'
import { SIGNAL_PATH } from '../../shared/proxySession'
import type { MediaKind } from '../../shared/signaling'
import {
  joinKey,
  signalingTls,
  SignalingClient,
  type JoinRequest,
  type SignalingOptions,
  type SignalingTimings,
} from './signalingClient'

/**
 * The join's signaling connection (docs/engine.md "Join round trips", step U): opened with the session
 * request — TCP, TLS pinned as the session request pins it, and the WebSocket upgrade carrying the join
 * (`Pinhole-Join`: the proxy verifies the token and places the channel itself, docs/proxy.md §9.1) — so
 * that `joined` and the offer come with, not after, the session's answer. The session then confirms it:
 * the same proxy host, port and signaling path, and the certificate the session request saw; otherwise it
 * is closed and a connection is opened to the session's signaling URL (a cluster's carries a route
 * ticket), as is one when the early upgrade failed (a proxy that could not place the channel yet). The call
 * takes the connection when it starts (`take`); whatever is not taken is closed.
 */
export interface EarlySignalingDeps {
  signal: AbortSignal
  clock: Clock
  logger: EngineLogger
  timings?: Partial<SignalingTimings>
  httpProxy?: HttpProxyConfig
  /** The join's timeline: `signalingOpen` when the handshakes are done, not when the call takes it. */
  mark?: JoinMark
  /** The call's join request as it would be now: sent with the upgrade. */
  join?: () => JoinRequest
}

/** A connection opened beside the session request, to one proxy host and port. */
interface Upgraded {
  target: string
  client: Promise<SignalingClient>
  request: JoinRequest | undefined
}

export class EarlySignaling {
  private opening: Promise<SignalingClient> | undefined
  private url: string | undefined
  /** joinKey of the join sent early, if any. */
  private joined: string | undefined
  private upgraded: Upgraded | undefined
  /** discard() was called: the join is over, nothing opens any more (a reconnect opens its own). */
  private done = false

  constructor(private readonly deps: EarlySignalingDeps) {}

  /**
   * RouteRequest.onSessionRequest: opens the connection to this region host's signaling endpoint with the
   * join in the upgrade, beside the session request. Another host (the first one's session failed) gets a
   * connection of its own; the earlier one is closed.
   */
  preconnect(region: Region, kept?: Preconnected): void {
    if (this.done || this.url !== undefined) return
    const { proxyHost: host, ports } = region
    const target = `${host}:${ports.tcp}`
    if (this.upgraded?.target === target) return
    this.closeUpgraded()
    const request = this.deps.join?.()
    const client = this.connect(
      `wss://${isIP(host) === 6 ? `[${host}]` : host}:${ports.tcp}${SIGNAL_PATH}`,
      { host, port: ports.tcp, pin: pinOf(region), ...(kept ? { kept: kept.takeAny() } : {}) },
      request,
      'upgrade',
    )
    this.upgraded = { target, client, request }
  }

  /**
   * RouteRequest.onSession: the connection the call will take — the early one when the session confirms
   * it, else a new one to the session's signaling URL (once; a later session of the same join is ignored).
   */
  open(target: ProxyTarget): void {
    if (this.done || this.url !== undefined) return
    const url = target.session.info.signalUrl
    this.url = url
    const { tls } = signalingTls(target, url, this.deps.httpProxy)
    const upgraded = this.upgraded
    this.upgraded = undefined
    const request = upgraded ? upgraded.request : this.deps.join?.()
    this.joined = request ? joinKey(request) : undefined
    // The session's URL (a cluster's route ticket) with the join as a message: the path every proxy knows,
    // and the conference server's own refusal when the relay refused the upgrade's join.
    const fresh = (): Promise<SignalingClient> => this.connect(url, tls, request, 'message')
    const sameEndpoint =
      upgraded !== undefined && tls !== undefined && upgraded.target === `${tls.host}:${tls.port}`
    if (!upgraded || !sameEndpoint || new URL(url).pathname !== SIGNAL_PATH) {
      if (upgraded) closeWhenOpen(upgraded.client)
      this.opening = fresh()
      return
    }
    const fingerprint = target.session.fingerprintSha256.toUpperCase()
    this.opening = upgraded.client.then(
      (client) => {
        if (client.fingerprintSha256?.toUpperCase() === fingerprint) return client
        client.close() // another certificate than the session request's: not this one
        return fresh()
      },
      () => fresh(),
    )
    this.opening.catch(() => undefined) // the call reports it (or discard() ends it)
  }

  /** A signaling connection to `url`, `request` sent in its upgrade or once open; `signalingOpen` then. */
  private connect(
    url: string,
    tls: SignalingOptions['tls'],
    request: JoinRequest | undefined,
    how: 'upgrade' | 'message',
  ): Promise<SignalingClient> {
    const { signal, clock, logger, timings, httpProxy } = this.deps
    const opening = SignalingClient.open({
      url,
      ...(tls ? { tls: { ...tls, ...(httpProxy ? { httpProxy } : {}) } } : {}),
      ...(request && how === 'upgrade' ? { join: request } : {}),
      ...(timings ? { timings } : {}),
      signal,
      clock,
      logger,
    }).then((client) => {
      // `joined` and the offer wait in the client (held) until the call takes it.
      if (request && how === 'message') client.joinEarly(request)
      return client
    })
    // Awaited by the call, or closed by discard(); a failure is the call's to report, not unhandled here.
    opening.then(() => this.deps.mark?.('signalingOpen')).catch(() => undefined)
    return opening
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
    closeWhenOpen(opening)
    return undefined
  }

  /** Closes whatever nobody took; nothing opens after it. */
  discard(): void {
    this.done = true
    this.closeUpgraded()
    this.take('')
  }

  private closeUpgraded(): void {
    if (this.upgraded) closeWhenOpen(this.upgraded.client)
    this.upgraded = undefined
  }
}

function closeWhenOpen(opening: Promise<SignalingClient>): void {
  opening.then((client) => client.close()).catch(() => undefined)
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
