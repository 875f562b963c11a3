import type { IncomingMessage } from 'node:http'
import { WebSocket, type RawData } from 'ws'
import type { ConnectionAuth, Slot } from '../../platform/connectionSlots'
import { JOIN_ACCEPTED, JOIN_HEADER } from '../../protocol/auth/joinHeader'
import { rawText, type RouteChoice } from './signalRoute'

/** A join that came with the upgrade, verified by the relay (signalJoin.ts): passed on to the node. */
export interface UpgradeJoin {
  /** The `Pinhole-Join` header as the client sent it. */
  header: string
  /** The `join` message it carries, sent as the first message to a node that does not take the header. */
  text: string
}

/**
 * One relayed signaling connection of signalRelay.ts: the client's WebSocket and its upstream to the
 * conference server, frame by frame with backpressure both ways, the join timer and the close codes.
 */

/** The relay's events (docs/proxy.md, `listener_events_total`). */
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
  'signal_join_refused',
  'signal_placement_failed',
] as const
export type SignalRelayEvent = (typeof SIGNAL_RELAY_EVENTS)[number]

/** What a pair reads of the relay's settings (SIGNAL_RELAY_DEFAULTS). */
export interface RelayConfig {
  maxMessageBytes: number
  highWaterMarkBytes: number
  maxQueuedMessages: number
  maxQueuedBytes: number
  upstreamConnectTimeoutMs: number
  joinTimeoutMs: number
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

/** One client and its upstream. */
export class Pair {
  private readonly upstream: WebSocket
  private queue: { data: RawData; isBinary: boolean; size: number }[] = []
  private queuedBytes = 0
  private upstreamOpened = false
  private upstreamError: string | undefined
  private closedUpstream = false
  private alive = true
  private finished = false
  private joined = false
  /** The node answered the upgrade with `Pinhole-Join: accepted` (it joins without a message). */
  private nodeTookJoin = false
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
    private readonly join?: UpgradeJoin,
  ) {
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ')
    this.upstream = new WebSocket(route.target, {
      maxPayload: cfg.maxMessageBytes,
      handshakeTimeout: cfg.upstreamConnectTimeoutMs,
      perMessageDeflate: false,
      headers: {
        ...(forwardedFor ? { 'X-Forwarded-For': forwardedFor } : {}),
        ...(join ? { 'Pinhole-Join': join.header } : {}),
      },
    })
    this.upstream.once('upgrade', (res) => (this.nodeTookJoin = res.headers[JOIN_HEADER] === JOIN_ACCEPTED))
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
    // A node that does not read the header (an older one) gets the join as the client's first message.
    if (this.join && !this.nodeTookJoin) this.upstream.send(this.join.text)
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
