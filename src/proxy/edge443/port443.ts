import http from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { ConnectionSlots, type ConnectionAuth, type Slot } from '../../platform/connectionSlots'
import { classifyFirstByte, peekFirstChunk } from './firstByte'
import { plainHttpAnswer, safeEmitter, sendTlsRequired, type HttpApp } from '../api/httpApp'

/**
 * The proxy's TCP 443 (DESIGN.md §5): one listener, each connection routed by its first byte to TLS, TURN
 * over TCP or HTTP; inside TLS, by ALPN or by the first decrypted byte to TURN over TLS or HTTPS. HTTP(S)
 * feeds a non-listening `http.Server` built from the HTTP app (session API, signaling relay).
 *
 * Peeking: the first chunk is taken with `read()` in paused mode and put back with `unshift()`. Every
 * consumer Node offers reads that JS buffer before the native handle: `TLSSocket` feeds buffered bytes to
 * its TLSWrap (`initRead`), the HTTP server drains it through its `data` listener before the parser
 * consumes the handle, and a TURN handler reads through the stream API. The socket keeps its native
 * handle, so TLS stays in C++ (TLSWrap over TCPWrap) — no JS stream shim on the TURN-over-TLS hot path.
 * Tests in port443.test.ts pin this down byte for byte.
 *
 * Plain HTTP is answered with a `tls_required` error and never reaches the HTTP app: credentials and
 * signaling travel inside TLS only. Plain TURN over TCP stays (RFC 8656 §3.1). Connection slots
 * (connectionSlots.ts): a connection is unauthenticated until its TURN Allocate authenticated or its
 * signaling WebSocket joined, and unauthenticated ones are limited per client address and in total.
 */

export const PORT443_EVENTS = [
  'accepted',
  'rejected_max_connections',
  'rejected_unauthenticated_share',
  'rejected_unauthenticated_per_ip',
  'plain_http_refused',
  'closed_before_first_byte',
  'first_byte_timeout',
  'malformed_first_byte',
  'tls_handshake_timeout',
  'tls_handshake_failed',
  'tls_handshake_aborted',
  'tls_first_byte_timeout',
  'tls_malformed_first_byte',
  'turn_tcp',
  'turn_tls',
  'turn_handler_error',
  'http',
  'https',
  'http_headers_timeout',
  'http_request_timeout',
  'http_malformed',
  'socket_error',
] as const
export type Port443Event = (typeof PORT443_EVENTS)[number]

export interface TurnConnectionInfo {
  transport: 'tcp' | 'tls'
  remoteAddress: string
  remotePort: number
  localPort: number
}

/**
 * Receives a TURN connection. The stream yields every byte the client sent, from the first; it is handed
 * over in the state of a fresh socket (attach `data` listeners or pipe it, now or later).
 */
export type TurnConnectionHandler = (stream: Duplex, info: TurnConnectionInfo, auth: ConnectionAuth) => void

export interface Port443Options {
  /** Default '0.0.0.0'. */
  host?: string
  /** 0 picks a free port (tests); the real one is the handle's `port`. */
  port: number
  tls: { cert: string; key: string }
  http: HttpApp
  onTurnConnection: TurnConnectionHandler
  onEvent?: (event: Port443Event) => void
  firstByteTimeoutMs?: number
  tlsHandshakeTimeoutMs?: number
  /** From connection (or the end of the previous response) to complete request headers. */
  httpHeadersTimeoutMs?: number
  /** From connection (or the end of the previous response) to a complete request, body included. */
  httpRequestTimeoutMs?: number
  httpKeepAliveTimeoutMs?: number
  maxHeaderBytes?: number
  maxConnections?: number
  /** The part (1-100 %) of maxConnections that connections not yet authenticated may hold together. */
  unauthenticatedPercent?: number
  /** Connections not yet authenticated from one client address. */
  unauthenticatedPerIp?: number
  /** SO_REUSEPORT: several worker processes listen on the same port (src/proxy/workers.ts). */
  reusePort?: boolean
}

export const PORT443_DEFAULTS = {
  host: '0.0.0.0',
  firstByteTimeoutMs: 10_000,
  tlsHandshakeTimeoutMs: 10_000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16_384,
  maxConnections: 10_000,
  unauthenticatedPercent: 50,
  unauthenticatedPerIp: 128,
} as const

export interface Port443Listener {
  readonly port: number
  /** Open TCP connections, whatever they carry. */
  connections(): number
  /** Open TCP connections that have not authenticated (yet). */
  unauthenticated(): number
  /** Stops listening and destroys every connection (close the signal relay first for clean WS closes). */
  close(): Promise<void>
}

export { classifyFirstByte, type FirstByteRoute } from './firstByte'

/** ALPN `stun.turn` is RFC 7443's; `http/1.1` for HTTPS and WSS. */
export const ALPN_PROTOCOLS = ['stun.turn', 'http/1.1']

type Stage = 'first-byte' | 'tls-handshake' | 'tls-first-byte' | 'turn' | 'http' | 'upgraded'

interface Conn {
  raw: net.Socket
  slot: Slot
  key: string
  info: Omit<TurnConnectionInfo, 'transport'>
  stage: Stage
  timer: NodeJS.Timeout | undefined
  /** A terminal outcome was counted: later errors and timers stay silent. */
  settled: boolean
  errorCounted: boolean
  tls?: tls.TLSSocket
}

interface HttpState {
  conn: Conn
  headersTimer?: NodeJS.Timeout
  requestTimer?: NodeJS.Timeout
}

export async function createPort443Listener(options: Port443Options): Promise<Port443Listener> {
  const cfg = { ...PORT443_DEFAULTS, ...definedOnly(options) }
  const emit = safeEmitter(options.onEvent)
  const sockets = new Set<net.Socket>()
  /**
   * Connections in their TLS handshake, by 4-tuple: `tls.Server` builds the TLSSocket itself and its
   * `secureConnection`/`tlsClientError` events hand us only that, not the raw socket we injected.
   */
  const handshaking = new Map<string, Conn>()
  const httpStates = new WeakMap<object, HttpState>()
  const slots = new ConnectionSlots(cfg)

  // Node enforces headersTimeout/requestTimeout from a check interval that only a *listening* server runs;
  // this one never listens, so the deadlines are ours (armHttpTimers).
  const httpServer = http.createServer({ maxHeaderSize: cfg.maxHeaderBytes })
  httpServer.keepAliveTimeout = Math.min(cfg.httpKeepAliveTimeoutMs, cfg.httpHeadersTimeoutMs)
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const state = httpStates.get(req.socket)
    if (state) trackRequest(state, req, res)
    if (!isEncrypted(req.socket)) {
      emit('plain_http_refused')
      return sendTlsRequired(req, res)
    }
    options.http.handleRequest(req, res)
  })
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const state = httpStates.get(socket)
    if (!state || !isEncrypted(socket)) {
      if (state) fail(state.conn, 'plain_http_refused', 1000)
      socket.end(plainHttpAnswer(), () => socket.destroy())
      return
    }
    clearHttpTimers(state)
    state.conn.stage = 'upgraded'
    httpStates.delete(socket)
    options.http.handleUpgrade(req, socket, head, state.conn.slot)
  })
  httpServer.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    const conn = httpStates.get(socket)?.conn
    if (!error.code?.startsWith('HPE_')) {
      // A socket error surfacing through the HTTP server (reset, write after end…), not bad HTTP.
      if (conn) countSocketError(conn)
      socket.destroy()
      return
    }
    if (socket.writable) {
      const status =
        error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (conn) fail(conn, 'http_malformed', 1000)
    else socket.destroy()
  })

  const tlsServer = tls.createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    ALPNProtocols: ALPN_PROTOCOLS,
    minVersion: 'TLSv1.2',
    // Node's own timer is an idle timer (reset by each byte); ours below is absolute. Keep Node's out of the way.
    handshakeTimeout: cfg.tlsHandshakeTimeoutMs * 2,
  })
  tlsServer.on('secureConnection', (socket: tls.TLSSocket) => onSecure(socket))
  tlsServer.on('tlsClientError', (error: Error & { code?: string }, socket: tls.TLSSocket) => {
    const conn = handshaking.get(tupleKey(socket))
    // Not found: the connection is already gone, and its `close` handler did the counting.
    if (conn) fail(conn, error.code === 'ECONNRESET' ? 'tls_handshake_aborted' : 'tls_handshake_failed')
    else socket.destroy()
  })

  const server = net.createServer({ noDelay: true }, onConnection)
  server.maxConnections = cfg.maxConnections
  server.on('drop', () => emit('rejected_max_connections'))

  function onConnection(raw: net.Socket): void {
    const admission = slots.admit(raw.remoteAddress)
    if (!admission.ok) {
      emit(`rejected_${admission.reason}`)
      raw.on('error', () => undefined)
      raw.destroy()
      return
    }
    const conn: Conn = {
      raw,
      slot: admission.slot,
      key: tupleKey(raw),
      info: {
        remoteAddress: raw.remoteAddress ?? '',
        remotePort: raw.remotePort ?? 0,
        localPort: raw.localPort ?? 0,
      },
      stage: 'first-byte',
      timer: undefined,
      settled: false,
      errorCounted: false,
    }
    sockets.add(raw)
    emit('accepted')
    raw.on('error', () => countSocketError(conn))
    raw.on('close', () => onClose(conn))
    conn.timer = setTimeout(() => fail(conn, 'first_byte_timeout'), cfg.firstByteTimeoutMs)
    peekFirstChunk(raw, (first) => {
      clearTimer(conn)
      const route = classifyFirstByte(first, false)
      if (route === 'tls') startTls(conn)
      else if (route === 'turn') toTurn(conn, raw, 'tcp')
      else if (route === 'http') toHttp(conn, raw, false)
      else fail(conn, 'malformed_first_byte')
    })
  }

  function onClose(conn: Conn): void {
    sockets.delete(conn.raw)
    conn.slot.release()
    clearTimer(conn)
    handshaking.delete(conn.key)
    if (conn.settled) return
    if (conn.stage === 'first-byte') emit('closed_before_first_byte')
    else if (conn.stage === 'tls-handshake') emit('tls_handshake_aborted')
  }

  function startTls(conn: Conn): void {
    conn.stage = 'tls-handshake'
    handshaking.set(conn.key, conn)
    conn.timer = setTimeout(() => fail(conn, 'tls_handshake_timeout'), cfg.tlsHandshakeTimeoutMs)
    tlsServer.emit('connection', conn.raw)
  }

  function onSecure(socket: tls.TLSSocket): void {
    const conn = handshaking.get(tupleKey(socket))
    if (!conn || conn.settled) {
      socket.destroy()
      return
    }
    handshaking.delete(conn.key)
    clearTimer(conn)
    conn.tls = socket
    socket.on('error', () => countSocketError(conn))
    if (socket.alpnProtocol === 'stun.turn') {
      toTurn(conn, socket, 'tls')
      return
    }
    conn.stage = 'tls-first-byte'
    conn.timer = setTimeout(() => fail(conn, 'tls_first_byte_timeout'), cfg.firstByteTimeoutMs)
    peekFirstChunk(socket, (first) => {
      clearTimer(conn)
      const route = classifyFirstByte(first, true)
      if (route === 'turn') toTurn(conn, socket, 'tls')
      else if (route === 'http') toHttp(conn, socket, true)
      else fail(conn, 'tls_malformed_first_byte')
    })
  }

  function toTurn(conn: Conn, stream: Duplex, transport: 'tcp' | 'tls'): void {
    conn.stage = 'turn'
    emit(transport === 'tcp' ? 'turn_tcp' : 'turn_tls')
    try {
      options.onTurnConnection(stream, { transport, ...conn.info }, conn.slot)
    } catch {
      fail(conn, 'turn_handler_error')
    }
  }

  function toHttp(conn: Conn, socket: net.Socket, secure: boolean): void {
    conn.stage = 'http'
    emit(secure ? 'https' : 'http')
    const state: HttpState = { conn }
    httpStates.set(socket, state)
    armHttpTimers(state)
    socket.once('close', () => clearHttpTimers(state))
    httpServer.emit('connection', socket)
  }

  /** Slowloris: absolute deadlines for the headers and for the whole request, re-armed per request. */
  function armHttpTimers(state: HttpState): void {
    clearHttpTimers(state)
    state.headersTimer = setTimeout(() => fail(state.conn, 'http_headers_timeout'), cfg.httpHeadersTimeoutMs)
    state.requestTimer = setTimeout(() => fail(state.conn, 'http_request_timeout'), cfg.httpRequestTimeoutMs)
  }

  function trackRequest(state: HttpState, req: http.IncomingMessage, res: http.ServerResponse): void {
    clearTimeout(state.headersTimer)
    const received = (): void => clearTimeout(state.requestTimer)
    req.once('end', received)
    res.once('close', received)
    res.once('finish', () => {
      received()
      if (!req.socket.destroyed && state.conn.stage === 'http') armHttpTimers(state)
    })
  }

  function clearHttpTimers(state: HttpState): void {
    clearTimeout(state.headersTimer)
    clearTimeout(state.requestTimer)
  }

  /** Counts the outcome once and drops the connection (after `graceMs`, to let a final answer out). */
  function fail(conn: Conn, event: Port443Event, graceMs = 0): void {
    clearTimer(conn)
    if (conn.settled || conn.raw.destroyed) return
    conn.settled = true
    emit(event)
    const destroy = (): void => {
      conn.tls?.destroy()
      conn.raw.destroy()
    }
    if (graceMs > 0) setTimeout(destroy, graceMs).unref()
    else destroy()
  }

  function countSocketError(conn: Conn): void {
    if (conn.settled || conn.errorCounted) return
    conn.errorCounted = true
    emit('socket_error')
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: options.port, host: cfg.host, reusePort: options.reusePort ?? false }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // After listen: accept errors (EMFILE and the like) must not crash the process.
  server.on('error', () => emit('socket_error'))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port

  let closing: Promise<void> | undefined
  return {
    port,
    connections: () => sockets.size,
    unauthenticated: () => slots.counts().unauthenticated,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        // `close` events come a tick after the server's own count drops: wait for them, so that
        // connections() is 0 once close() resolves.
        const gone = [...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)))
        for (const socket of sockets) socket.destroy()
        await Promise.all([stopped, ...gone])
      })()
      return closing
    },
  }
}

function isEncrypted(socket: Duplex): boolean {
  return (socket as Partial<tls.TLSSocket>).encrypted === true
}

function clearTimer(conn: Conn): void {
  clearTimeout(conn.timer)
  conn.timer = undefined
}

/** The 4-tuple: unique among live connections of one listener, and the same on a socket and its TLSSocket. */
function tupleKey(socket: net.Socket): string {
  return `${socket.localAddress}|${socket.localPort}|${socket.remoteAddress}|${socket.remotePort}`
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
