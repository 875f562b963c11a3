import http from 'node:http'
import type net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { ConnectionSlots, type Slot } from '../../platform/connectionSlots'
import { plainHttpAnswer, safeEmitter, sendTlsRequired } from '../api/httpApp'
import { classifyFirstByte, peekFirstChunk } from './firstByte'
import type { Port443Event, Port443Options, Port443Settings, TurnConnectionInfo } from './options'

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

/**
 * What happens to each connection of the TCP 443 listener (port443.ts): admission to a connection slot,
 * the first byte, the TLS handshake, then TURN or HTTP(S), each stage with its own deadline, and exactly
 * one counted outcome. The listening socket and its life are port443.ts's.
 */
export class Port443Router {
  readonly emit: (event: Port443Event) => void
  readonly sockets = new Set<net.Socket>()
  readonly slots: ConnectionSlots
  /**
   * Connections in their TLS handshake, by 4-tuple: `tls.Server` builds the TLSSocket itself and its
   * `secureConnection`/`tlsClientError` events hand us only that, not the raw socket we injected.
   */
  private readonly handshaking = new Map<string, Conn>()
  private readonly httpStates = new WeakMap<object, HttpState>()
  private readonly httpServer: http.Server
  private readonly tlsServer: tls.Server

  constructor(
    private readonly options: Port443Options,
    private readonly cfg: Port443Settings,
  ) {
    this.emit = safeEmitter(options.onEvent)
    this.slots = new ConnectionSlots(cfg)
    this.httpServer = this.createHttpServer()
    this.tlsServer = this.createTlsServer()
  }

  /** A non-listening `http.Server`: HTTP(S) connections are handed to it once their first byte is known. */
  private createHttpServer(): http.Server {
    // Node enforces headersTimeout/requestTimeout from a check interval that only a *listening* server runs;
    // this one never listens, so the deadlines are ours (armHttpTimers).
    const server = http.createServer({ maxHeaderSize: this.cfg.maxHeaderBytes })
    server.keepAliveTimeout = Math.min(this.cfg.httpKeepAliveTimeoutMs, this.cfg.httpHeadersTimeoutMs)
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res))
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    )
    server.on('clientError', (error: Error & { code?: string }, socket: Duplex) =>
      this.onClientError(error, socket),
    )
    return server
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const state = this.httpStates.get(req.socket)
    if (state) this.trackRequest(state, req, res)
    if (!isEncrypted(req.socket)) {
      this.emit('plain_http_refused')
      return sendTlsRequired(req, res)
    }
    this.options.http.handleRequest(req, res)
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const state = this.httpStates.get(socket)
    if (!state || !isEncrypted(socket)) {
      if (state) this.fail(state.conn, 'plain_http_refused', 1000)
      socket.end(plainHttpAnswer(), () => socket.destroy())
      return
    }
    clearHttpTimers(state)
    state.conn.stage = 'upgraded'
    this.httpStates.delete(socket)
    this.options.http.handleUpgrade(req, socket, head, state.conn.slot)
  }

  private onClientError(error: Error & { code?: string }, socket: Duplex): void {
    const conn = this.httpStates.get(socket)?.conn
    if (!error.code?.startsWith('HPE_')) {
      // A socket error surfacing through the HTTP server (reset, write after end…), not bad HTTP.
      if (conn) this.countSocketError(conn)
      socket.destroy()
      return
    }
    if (socket.writable) {
      const status =
        error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (conn) this.fail(conn, 'http_malformed', 1000)
    else socket.destroy()
  }

  private createTlsServer(): tls.Server {
    const server = tls.createServer({
      cert: this.options.tls.cert,
      key: this.options.tls.key,
      ALPNProtocols: ALPN_PROTOCOLS,
      minVersion: 'TLSv1.2',
      // Node's own timer is an idle timer (reset by each byte); ours (startTls) is absolute. Keep Node's
      // out of the way.
      handshakeTimeout: this.cfg.tlsHandshakeTimeoutMs * 2,
    })
    server.on('secureConnection', (socket: tls.TLSSocket) => this.onSecure(socket))
    server.on('tlsClientError', (error: Error & { code?: string }, socket: tls.TLSSocket) => {
      const conn = this.handshaking.get(tupleKey(socket))
      // Not found: the connection is already gone, and its `close` handler did the counting.
      if (conn)
        this.fail(conn, error.code === 'ECONNRESET' ? 'tls_handshake_aborted' : 'tls_handshake_failed')
      else socket.destroy()
    })
    return server
  }

  /** The listener's `connection` handler. */
  onConnection(raw: net.Socket): void {
    const admission = this.slots.admit(raw.remoteAddress)
    if (!admission.ok) {
      this.emit(`rejected_${admission.reason}`)
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
    this.sockets.add(raw)
    this.emit('accepted')
    raw.on('error', () => this.countSocketError(conn))
    raw.on('close', () => this.onClose(conn))
    conn.timer = setTimeout(() => this.fail(conn, 'first_byte_timeout'), this.cfg.firstByteTimeoutMs)
    peekFirstChunk(raw, (first) => {
      clearTimer(conn)
      const route = classifyFirstByte(first, false)
      if (route === 'tls') this.startTls(conn)
      else if (route === 'turn') this.toTurn(conn, raw, 'tcp')
      else if (route === 'http') this.toHttp(conn, raw, false)
      else this.fail(conn, 'malformed_first_byte')
    })
  }

  private onClose(conn: Conn): void {
    this.sockets.delete(conn.raw)
    conn.slot.release()
    clearTimer(conn)
    this.handshaking.delete(conn.key)
    if (conn.settled) return
    if (conn.stage === 'first-byte') this.emit('closed_before_first_byte')
    else if (conn.stage === 'tls-handshake') this.emit('tls_handshake_aborted')
  }

  private startTls(conn: Conn): void {
    conn.stage = 'tls-handshake'
    this.handshaking.set(conn.key, conn)
    conn.timer = setTimeout(() => this.fail(conn, 'tls_handshake_timeout'), this.cfg.tlsHandshakeTimeoutMs)
    this.tlsServer.emit('connection', conn.raw)
  }

  private onSecure(socket: tls.TLSSocket): void {
    const conn = this.handshaking.get(tupleKey(socket))
    if (!conn || conn.settled) {
      socket.destroy()
      return
    }
    this.handshaking.delete(conn.key)
    clearTimer(conn)
    conn.tls = socket
    socket.on('error', () => this.countSocketError(conn))
    if (socket.alpnProtocol === 'stun.turn') {
      this.toTurn(conn, socket, 'tls')
      return
    }
    conn.stage = 'tls-first-byte'
    conn.timer = setTimeout(() => this.fail(conn, 'tls_first_byte_timeout'), this.cfg.firstByteTimeoutMs)
    peekFirstChunk(socket, (first) => {
      clearTimer(conn)
      const route = classifyFirstByte(first, true)
      if (route === 'turn') this.toTurn(conn, socket, 'tls')
      else if (route === 'http') this.toHttp(conn, socket, true)
      else this.fail(conn, 'tls_malformed_first_byte')
    })
  }

  private toTurn(conn: Conn, stream: Duplex, transport: 'tcp' | 'tls'): void {
    conn.stage = 'turn'
    this.emit(transport === 'tcp' ? 'turn_tcp' : 'turn_tls')
    try {
      this.options.onTurnConnection(stream, { transport, ...conn.info }, conn.slot)
    } catch {
      this.fail(conn, 'turn_handler_error')
    }
  }

  private toHttp(conn: Conn, socket: net.Socket, secure: boolean): void {
    conn.stage = 'http'
    this.emit(secure ? 'https' : 'http')
    const state: HttpState = { conn }
    this.httpStates.set(socket, state)
    this.armHttpTimers(state)
    socket.once('close', () => clearHttpTimers(state))
    this.httpServer.emit('connection', socket)
  }

  /** Slowloris: absolute deadlines for the headers and for the whole request, re-armed per request. */
  private armHttpTimers(state: HttpState): void {
    clearHttpTimers(state)
    const { httpHeadersTimeoutMs, httpRequestTimeoutMs } = this.cfg
    state.headersTimer = setTimeout(() => this.fail(state.conn, 'http_headers_timeout'), httpHeadersTimeoutMs)
    state.requestTimer = setTimeout(() => this.fail(state.conn, 'http_request_timeout'), httpRequestTimeoutMs)
  }

  private trackRequest(state: HttpState, req: http.IncomingMessage, res: http.ServerResponse): void {
    clearTimeout(state.headersTimer)
    const received = (): void => clearTimeout(state.requestTimer)
    req.once('end', received)
    res.once('close', received)
    res.once('finish', () => {
      received()
      if (!req.socket.destroyed && state.conn.stage === 'http') this.armHttpTimers(state)
    })
  }

  /** Counts the outcome once and drops the connection (after `graceMs`, to let a final answer out). */
  private fail(conn: Conn, event: Port443Event, graceMs = 0): void {
    clearTimer(conn)
    if (conn.settled || conn.raw.destroyed) return
    conn.settled = true
    this.emit(event)
    const destroy = (): void => {
      conn.tls?.destroy()
      conn.raw.destroy()
    }
    if (graceMs > 0) setTimeout(destroy, graceMs).unref()
    else destroy()
  }

  private countSocketError(conn: Conn): void {
    if (conn.settled || conn.errorCounted) return
    conn.errorCounted = true
    this.emit('socket_error')
  }
}

function clearHttpTimers(state: HttpState): void {
  clearTimeout(state.headersTimer)
  clearTimeout(state.requestTimer)
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
