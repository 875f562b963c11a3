import { untilAborted, type Clock, type EngineLogger, type JoinMark } from '../defaults'
import type { HttpProxyConfig } from '../route/httpProxy'
import type { ProxyTarget } from '../route/pathSelect'
import {
  signalingTls,
  SignalingClient,
  type SignalingOptions,
  type SignalingTimings,
} from './signalingClient'

/**
 * The join's signaling connection, opened as soon as the proxy session is known (docs/engine.md "Join
 * round trips"): its TCP, TLS and WebSocket handshakes (3 round trips) then run while the transport is
 * selected (the probe allocation: 2 round trips over UDP, 4 over TLS) instead of after it. The signaling
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
}

export class EarlySignaling {
  private opening: Promise<SignalingClient> | undefined
  private url: string | undefined

  constructor(private readonly deps: EarlySignalingDeps) {}

  /** RouteRequest.onSession: starts the handshakes (once; a later session of the same join is ignored). */
  open(target: ProxyTarget): void {
    if (this.url !== undefined) return
    const { signal, clock, logger, timings, httpProxy } = this.deps
    const url = target.session.info.signalUrl
    this.url = url
    const opening = SignalingClient.open({
      url,
      ...signalingTls(target, url, httpProxy),
      ...(timings ? { timings } : {}),
      signal,
      clock,
      logger,
    })
    // Awaited by the call, or closed by discard(); a failure is the call's to report, not unhandled here.
    opening.then(() => this.deps.mark?.('signalingOpen')).catch(() => undefined)
    this.opening = opening
  }

  /** The connection being opened to `url`, once; one to another URL is closed (the call opens its own). */
  take(url: string): Promise<SignalingClient> | undefined {
    const opening = this.opening
    this.opening = undefined
    if (!opening || url === this.url) return opening
    opening.then((client) => client.close()).catch(() => undefined)
    return undefined
  }

  /** Closes the connection if nobody took it. */
  discard(): void {
    this.take('')
  }
}

/**
 * The call's signaling connection: the early one when it was opened to `options.url` (awaited within
 * `options.signal`; one that opens after the abort is closed), else a new one.
 */
export function openSignaling(
  early: Pick<EarlySignaling, 'take'> | undefined,
  options: SignalingOptions & { signal: AbortSignal },
): Promise<SignalingClient> {
  const opening = early?.take(options.url)
  if (!opening) return SignalingClient.open(options)
  return untilAborted(opening, options.signal).catch((error: unknown) => {
    opening.then((client) => client.close()).catch(() => undefined)
    throw error
  })
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
