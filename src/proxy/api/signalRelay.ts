import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { ConnectionSlots, type ConnectionAuth } from '../../platform/connectionSlots'
import { refuseUpgrade, safeEmitter } from './httpApp'
import { decodeJoinHeader, JOIN_ACCEPTED, JOIN_HEADER } from '../../protocol/auth/joinHeader'
import { Pair, type SignalRelayEvent, type UpgradeJoin } from './signalPair'
import { refuseUpgradeJson, routeUpgradeJoin, type JoinRouter } from './signalJoin'
import { createUpstreamRouter, type RouteChoice, type SignalRouter } from './signalRoute'

export {
  CLOSE_BAD_GATEWAY,
  CLOSE_GOING_AWAY,
  CLOSE_JOIN_TIMEOUT,
  CLOSE_NORMAL,
  SIGNAL_RELAY_EVENTS,
  sendableCloseCode,
  type SignalRelayEvent,
} from './signalPair'

/**
 * `GET /v1/signal` (the call's second step, docs/architecture.md "A call's life"): the client's WebSocket
 * is relayed to the conference server's signaling endpoint, frame by frame, text/binary kept, with
 * backpressure both ways. The upstream URL is configured, or (cluster) named by a route ticket the proxy
 * signed (signalRoute.ts), never taken from the client (no SSRF); only the query string passes through.
 *
 * A client may send its join with the upgrade (the `Pinhole-Join` header): the relay verifies its token and
 * routes it itself (signalJoin.ts, no route ticket needed), refusing a bad one before dialing anyone, and
 * the node answers `joined` without a client message.
 *
 * Until the conference server answers `joined`, a connection is unjoined: at most `unjoinedPerIp` of them
 * per client address (more are refused with 429 before any upstream connection), and each must join
 * within `joinTimeoutMs` or is closed (4000). Once joined it leaves the TCP port's unauthenticated share.
 */

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
  /**
   * Verifies and routes a join that came with the upgrade (`Pinhole-Join`, signalJoin.ts). Without it the
   * header is ignored and the client sends its `join` as a message.
   */
  joinRouter?: JoinRouter
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

  // Requests whose join the relay verified and passes on: their 101 says so (the client sends no `join`).
  const joinsTaken = new WeakSet<IncomingMessage>()
  wss.on('headers', (headers, req) => {
    if (joinsTaken.has(req)) headers.push(`Pinhole-Join: ${JOIN_ACCEPTED}`)
  })

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, auth?: ConnectionAuth): void {
    if (closed) return refuseUpgrade(socket, '503 Service Unavailable')
    // Without a join router the header is not read (nor passed on): the client then sends its `join`.
    const header = options.joinRouter ? decodeJoinHeader(req.headers[JOIN_HEADER]) : undefined
    if (header?.kind === 'invalid') {
      emit('signal_join_refused')
      return refuseUpgradeJson(socket, {
        status: '400 Bad Request',
        code: 'bad_request',
        message: header.message,
      })
    }
    const route = header?.kind === 'join' ? undefined : router(req.url)
    if (route && 'refused' in route) {
      emit('signal_route_refused')
      return refuseUpgrade(socket, '403 Forbidden', route.refused)
    }
    // Admitted before the join is verified: the per-address limit also bounds verifications under way.
    const admission = unjoined.admit(req.socket.remoteAddress)
    if (!admission.ok) {
      emit('signal_rejected_per_ip')
      return refuseUpgrade(socket, '429 Too Many Requests')
    }
    const { slot } = admission
    socket.once('close', () => slot.release())
    const upgrade = (choice: RouteChoice, join?: UpgradeJoin): void =>
      wss.handleUpgrade(req, socket, head, (client) => {
        const finished = (): void => {
          slot.release()
          pairs.delete(pair)
        }
        const pair = new Pair(client, choice, req, cfg, emit, { slot, auth }, finished, join)
        pairs.add(pair)
        emit('signal_open')
      })
    if (route) return upgrade(route)
    if (header?.kind === 'join' && options.joinRouter) {
      routeUpgradeJoin(options.joinRouter, header, req, socket, {
        gone: () => closed,
        refused: (event) => emit(event),
        upgrade: (choice, join) => {
          joinsTaken.add(req)
          upgrade(choice, join)
        },
      })
    }
  }

  async function close(): Promise<void> {
    closed = true
    clearInterval(keepalive)
    await Promise.all([...pairs].map((pair) => pair.shutdown()))
    wss.close()
  }

  return { handleUpgrade, connections: () => pairs.size, close }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
