import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { ConnectionSlots, type ConnectionAuth, type Slot } from '../../platform/connectionSlots'
import { refuseUpgrade, safeEmitter } from './httpApp'
import { createUpstreamRouter, rawText, type RouteChoice, type SignalRouter } from './signalRoute'

/**
 * `GET /v1/signal` (the call's second step, docs/architecture.md "A call's life"): the client's WebSocket
 * is relayed to the conference server's signaling endpoint, frame by frame, text/binary kept, with
 * backpressure both ways. The upstream URL is configured, or (cluster) named by a route ticket the proxy
 * signed (signalRoute.ts), never taken from the client (no SSRF); only the query string passes through.
 *
 * Until the conference server answers `joined`, a connection is unjoined: at most `unjoinedPerIp` of them
 * per client address (more are refused with 429 before any upstream connection), and each must join
 * within `joinTimeoutMs` or is closed (4000). Once joined it leaves the TCP port's unauthenticated share.
 */

export const SIGNAL_RELAY_EVENTS = [
  'signal_open',
  'signal_upstream_open',
  'signal_upstream_failed',
  'signal_upstream_lost',
  'signal_client_dead',
  'signal_backpressure',
  'signal_message_too_big',
  'signal_closed',
  'signal_joined',
  'signal_rejected_per_ip',
  'signal_join_timeout',
  'signal_route_refused',
  'signal_route_mismatch',
] as const
export type SignalRelayEvent = (typeof SIGNAL_RELAY_EVENTS)[number]

export interface SignalRelayOptions {
  /**
   * `ws://host:port/path` (or wss://) of the conference server's signaling endpoint; required without a
   * `router` (a cluster's proxy has none: each ticket names its node).
   */
  upstreamUrl?: string
  /** Largest message either side may send (default 1 MiB); larger → closed with 1009. */
  maxMessageBytes?: number
  /** Stop reading a side while the other side has more than this buffered (default 1 MiB). */
  highWaterMarkBytes?: number
  /** Messages and bytes queued while the upstream connects (defaults 256 and 1 MiB); past that, the client is paused. */
  maxQueuedMessages?: number
  maxQueuedBytes?: number
  /** Upstream opening handshake limit (default 10 s). */
  upstreamConnectTimeoutMs?: number
  /** Ping interval towards clients; a client that missed a whole interval is terminated (default 30 s). */
  keepaliveIntervalMs?: number
  /** A client not joined by then (the upstream's `joined`) is closed with 4000 (default 5 s). */
  joinTimeoutMs?: number
  /** Unjoined connections per client address (default 64); more are refused with 429. */
  unjoinedPerIp?: number
  /** Picks each connection's upstream (a cluster's route tickets); default: `upstreamUrl` for all. */
  router?: SignalRouter
  onEvent?: (event: SignalRelayEvent) => void
}

export const SIGNAL_RELAY_DEFAULTS = {
  maxMessageBytes: 1024 * 1024,
  highWaterMarkBytes: 1024 * 1024,
  maxQueuedMessages: 256,
  maxQueuedBytes: 1024 * 1024,
  upstreamConnectTimeoutMs: 10_000,
  keepaliveIntervalMs: 30_000,
  joinTimeoutMs: 5_000,
  unjoinedPerIp: 64,
} as const

export interface SignalRelay {
  /** `auth`: the TCP port's slot of this connection, authenticated once the client joined. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, auth?: ConnectionAuth): void
  /** Client connections currently relayed. */
  connections(): number
  /** Closes every relayed pair with 1001, then stops; later upgrades are refused with 503. */
  close(): Promise<void>
}

/** RFC 6455 §7.4.1: 1005, 1006 and 1015 are reported locally, never sent. 1014 is "Bad Gateway". */
export const CLOSE_NORMAL = 1000
export const CLOSE_GOING_AWAY = 1001
export const CLOSE_BAD_GATEWAY = 1014
/** The conference server's own code for "no join in time" (SignalCloseCode.JoinTimeout). */
export const CLOSE_JOIN_TIMEOUT = 4000
/** SignalCloseCode.JoinRefused: a join for another channel or app than the route ticket's. */
const CLOSE_JOIN_REFUSED = 4003
/** After closing an unjoined client, how long its closing handshake may take before the socket is cut. */
const CLOSE_GRACE_MS = 1000
const CLOSE_NO_STATUS = 1005

export function sendableCloseCode(code: number): number {
  if (code === CLOSE_NO_STATUS) return CLOSE_NORMAL
  if (code === 1006 || code === 1015) return CLOSE_BAD_GATEWAY
  const valid = (code >= 1000 && code <= 1014 && code !== 1004) || (code >= 3000 && code <= 4999)
  return valid ? code : CLOSE_NORMAL
}

/** Close reasons are at most 123 bytes of UTF-8 (RFC 6455 §5.5). */
function closeReason(text: string): string {
  let reason = text
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1)
  return reason
}

export function createSignalRelay(options: SignalRelayOptions): SignalRelay {
  const cfg = { ...SIGNAL_RELAY_DEFAULTS, ...definedOnly(options) }
  const emit = safeEmitter(options.onEvent)
  const wss = new WebSocketServer({ noServer: true, maxPayload: cfg.maxMessageBytes, clientTracking: false })
  const pairs = new Set<Pair>()
  // Only the per-IP limit applies here; the TCP port's slots bound the total.
  const unjoined = new ConnectionSlots({
    maxConnections: Number.MAX_SAFE_INTEGER,
    unauthenticatedPercent: 100,
    unauthenticatedPerIp: cfg.unjoinedPerIp,
  })
  let closed = false
  const router = options.router ?? createUpstreamRouter(options.upstreamUrl)

  const keepalive = setInterval(() => {
    for (const pair of pairs) pair.keepalive()
  }, cfg.keepaliveIntervalMs)
  keepalive.unref()

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, auth?: ConnectionAuth): void {
    if (closed) return refuseUpgrade(socket, '503 Service Unavailable')
    const route = router(req.url)
    if ('refused' in route) {
      emit('signal_route_refused')
      return refuseUpgrade(socket, '403 Forbidden', route.refused)
    }
    const admission = unjoined.admit(req.socket.remoteAddress)
    if (!admission.ok) {
      emit('signal_rejected_per_ip')
      return refuseUpgrade(socket, '429 Too Many Requests')
    }
    const { slot } = admission
    socket.once('close', () => slot.release())
    wss.handleUpgrade(req, socket, head, (client) => {
      const pair = new Pair(client, route, req, cfg, emit, { slot, auth }, () => {
        slot.release()
        pairs.delete(pair)
      })
      pairs.add(pair)
      emit('signal_open')
    })
  }

  async function close(): Promise<void> {
    closed = true
    clearInterval(keepalive)
    await Promise.all([...pairs].map((pair) => pair.shutdown()))
    wss.close()
  }

  return { handleUpgrade, connections: () => pairs.size, close }
}

type RelayConfig = { [K in keyof typeof SIGNAL_RELAY_DEFAULTS]: number }

/** One client and its upstream. */
class Pair {
  private readonly upstream: WebSocket
  private queue: { data: RawData; isBinary: boolean; size: number }[] = []
  private queuedBytes = 0
  private upstreamOpened = false
  private upstreamError: string | undefined
  private closedUpstream = false
  private alive = true
  private finished = false
  private joined = false
  private joinTimer: NodeJS.Timeout | undefined
  private readonly closedPromise: Promise<void>
  /** Why the client's reading is paused; resumed when none applies. */
  private readonly clientPause = new Set<'queue' | 'backpressure'>()

  constructor(
    private readonly client: WebSocket,
    private readonly route: RouteChoice,
    req: IncomingMessage,
    private readonly cfg: RelayConfig,
    private readonly emit: (event: SignalRelayEvent) => void,
    private readonly slots: { slot: Slot; auth: ConnectionAuth | undefined },
    onFinished: () => void,
  ) {
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ')
    this.upstream = new WebSocket(route.target, {
      maxPayload: cfg.maxMessageBytes,
      handshakeTimeout: cfg.upstreamConnectTimeoutMs,
      perMessageDeflate: false,
      headers: forwardedFor ? { 'X-Forwarded-For': forwardedFor } : {},
    })
    let clientClosed = false
    let upstreamClosed = false
    let resolveClosed: () => void = () => undefined
    this.closedPromise = new Promise((resolve) => (resolveClosed = resolve))
    const settle = (): void => {
      if (!clientClosed || !upstreamClosed || this.finished) return
      this.finished = true
      clearTimeout(this.joinTimer)
      onFinished()
      this.emit('signal_closed')
      resolveClosed()
    }

    client.on('message', (data, isBinary) => this.fromClient(data, isBinary))
    client.on('pong', () => (this.alive = true))
    client.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.emit('signal_message_too_big')
    })
    client.on('close', (code, reason) => {
      clientClosed = true
      this.closeUpstream(code, code === 1006 ? 'client connection lost' : reason.toString())
      settle()
    })

    this.upstream.on('open', () => this.onUpstreamOpen())
    this.upstream.on('message', (data, isBinary) => {
      if (!this.joined && !isBinary) this.watchForJoined(data)
      this.forward(this.upstream, client, data, isBinary)
    })
    this.upstream.on('error', (error: Error & { code?: string }) => {
      this.upstreamError = error.message
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.emit('signal_message_too_big')
    })
    this.upstream.on('close', (code, reason) => {
      upstreamClosed = true
      this.onUpstreamClose(code, reason.toString())
      settle()
    })
    this.joinTimer = setTimeout(() => this.joinTimedOut(), cfg.joinTimeoutMs)
  }

  /** The upstream said `joined`: the client proved its token, it leaves the unjoined and unauthenticated counts. */
  private watchForJoined(data: RawData): void {
    const text = rawText(data)
    if (!text.includes('"joined"')) return
    try {
      if ((JSON.parse(text) as { type?: unknown }).type !== 'joined') return
    } catch {
      return
    }
    this.joined = true
    clearTimeout(this.joinTimer)
    this.slots.slot.authenticate()
    this.slots.auth?.authenticate()
    this.emit('signal_joined')
  }

  private joinTimedOut(): void {
    if (this.joined || this.finished) return
    this.emit('signal_join_timeout')
    this.closeClient(CLOSE_JOIN_TIMEOUT, 'join timeout')
    this.closeUpstream(CLOSE_JOIN_TIMEOUT, 'join timeout')
    // A client that ignores the closing handshake must not keep its slot for ws's 30 s.
    setTimeout(() => {
      this.client.terminate()
      this.upstream.terminate()
    }, CLOSE_GRACE_MS).unref()
  }

  keepalive(): void {
    if (this.client.readyState !== WebSocket.OPEN) return
    if (!this.alive) {
      this.emit('signal_client_dead')
      this.client.terminate()
      return
    }
    this.alive = false
    this.client.ping()
  }

  shutdown(): Promise<void> {
    if (this.finished) return Promise.resolve()
    this.closeClient(CLOSE_GOING_AWAY, 'proxy shutting down')
    // An upstream still in its opening handshake is closed properly once open (the timer below bounds it),
    // so the conference server sees "going away", not a dropped connection.
    if (this.upstream.readyState === WebSocket.CONNECTING) {
      this.upstream.once('open', () => this.closeUpstream(CLOSE_GOING_AWAY, 'proxy shutting down'))
    } else {
      this.closeUpstream(CLOSE_GOING_AWAY, 'proxy shutting down')
    }
    // A peer that does not answer the closing handshake is cut off rather than waited for (ws waits 30 s).
    const force = setTimeout(() => {
      this.client.terminate()
      this.upstream.terminate()
    }, 2000)
    return this.closedPromise.finally(() => clearTimeout(force))
  }

  private fromClient(data: RawData, isBinary: boolean): void {
    this.alive = true
    const refusal = !this.joined && !isBinary ? this.route.joinCheck?.(rawText(data)) : undefined
    if (refusal !== undefined) return this.refuseJoin(refusal)
    if (this.upstream.readyState === WebSocket.OPEN) {
      this.forward(this.client, this.upstream, data, isBinary)
      return
    }
    if (this.upstream.readyState !== WebSocket.CONNECTING) return // closing: nowhere to deliver it
    const size = rawSize(data)
    this.queue.push({ data, isBinary, size })
    this.queuedBytes += size
    if (this.queue.length >= this.cfg.maxQueuedMessages || this.queuedBytes >= this.cfg.maxQueuedBytes) {
      this.pauseClient('queue')
    }
  }

  private onUpstreamOpen(): void {
    this.upstreamOpened = true
    this.emit('signal_upstream_open')
    const queued = this.queue
    this.queue = []
    this.queuedBytes = 0
    for (const message of queued) this.forward(this.client, this.upstream, message.data, message.isBinary)
    this.resumeClient('queue')
  }

  private onUpstreamClose(code: number, reason: string): void {
    this.queue = []
    // The node did not answer or went away (we did not close it): placement may skip it for a while.
    if (!this.closedUpstream && (!this.upstreamOpened || code === 1006)) this.route.unreachable?.()
    if (this.client.readyState !== WebSocket.OPEN) return // the client left first: nothing to tell it
    if (!this.upstreamOpened) {
      this.emit('signal_upstream_failed')
      this.closeClient(CLOSE_BAD_GATEWAY, `upstream unavailable: ${this.upstreamError ?? 'closed'}`)
    } else if (code === 1006 || code === 1015) {
      this.emit('signal_upstream_lost')
      this.closeClient(
        CLOSE_BAD_GATEWAY,
        `upstream connection lost${this.upstreamError ? `: ${this.upstreamError}` : ''}`,
      )
    } else {
      this.closeClient(sendableCloseCode(code), reason)
    }
  }

  /** Sends one message on, pausing the source while the destination has too much buffered. */
  private forward(from: WebSocket, to: WebSocket, data: RawData, isBinary: boolean): void {
    if (to.readyState !== WebSocket.OPEN) return
    to.send(data, { binary: isBinary }, (error) => {
      if (!error && to.bufferedAmount <= this.cfg.highWaterMarkBytes / 2) this.resumeSide(from)
    })
    if (to.bufferedAmount > this.cfg.highWaterMarkBytes) {
      this.emit('signal_backpressure')
      if (from === this.client) this.pauseClient('backpressure')
      else from.pause()
    }
  }

  private resumeSide(side: WebSocket): void {
    if (side === this.client) this.resumeClient('backpressure')
    else if (side.isPaused) side.resume()
  }

  private pauseClient(why: 'queue' | 'backpressure'): void {
    this.clientPause.add(why)
    this.client.pause()
  }

  private resumeClient(why: 'queue' | 'backpressure'): void {
    if (!this.clientPause.delete(why) || this.clientPause.size > 0) return
    this.client.resume()
  }

  private refuseJoin(reason: string): void {
    this.emit('signal_route_mismatch')
    this.closeClient(CLOSE_JOIN_REFUSED, reason)
    this.closeUpstream(CLOSE_JOIN_REFUSED, reason)
  }

  private closeClient(code: number, reason: string): void {
    const state = this.client.readyState
    if (state === WebSocket.OPEN) this.client.close(sendableCloseCode(code), closeReason(reason))
  }

  private closeUpstream(code: number, reason: string): void {
    this.closedUpstream = true
    const state = this.upstream.readyState
    // Closing a CONNECTING ws aborts its handshake (and reports an error, which is listened to above).
    if (state === WebSocket.CONNECTING) this.upstream.terminate()
    else if (state === WebSocket.OPEN) this.upstream.close(sendableCloseCode(code), closeReason(reason))
  }
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0)
  return data.byteLength
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
