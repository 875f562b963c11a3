import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { WebSocketServer } from 'ws'
import { mintJoinToken } from '../../protocol/auth/joinToken'
import { systemClock, type Clock } from '../../platform/clock'
import { SIGNAL_PATH } from '../../shared/proxySession'
import { DEV_TOKEN_PATH, DevTokenRequestSchema, type DevTokenResponse } from '../../shared/signaling'
import { decodeJoinHeader, JOIN_ACCEPTED, JOIN_HEADER } from '../../protocol/auth/joinHeader'
import type { ChannelId, ChannelSnapshot } from '../room/channel'
import type { Conference } from '../room/conference'
import type { SfuApp, SfuConfig } from '../config'
import { SFU_DEFAULTS } from '../defaults'
import { SfuMetrics } from '../metrics'
import { SignalConnection } from './signalConnection'
import { SignalAdmission } from './admission'
import { loadMediaAddon } from '../../platform/nativeAddon'

export interface ConferenceServerDeps {
  apps: readonly SfuApp[]
  logger: Logger
  metrics?: SfuMetrics
  /** Wall-clock milliseconds (Date.now) for token expiry and dev tokens. */
  now?: () => number
  /** Every timer of the server and its calls; the system clock unless a test moves time itself. */
  clock?: Clock
}

export interface SfuHealth {
  ok: boolean
  details: {
    listening: boolean
    draining: boolean
    connections: number
    channels: number
    participants: number
    forwardedPackets: number
  }
}

const MAX_TOKEN_BODY_BYTES = 4096
const HTTP_HEADERS_TIMEOUT_MS = 10_000
const HTTP_REQUEST_TIMEOUT_MS = 30_000

/**
 * The conference server process part: one HTTP listener that upgrades `/v1/signal` to the signaling
 * WebSocket and, only with `devTokens`, answers `POST /v1/token`. Metrics and health are exposed as
 * values (`registry`, `health()`) for the admin listener, never served on this port.
 */
export class ConferenceServer {
  readonly registry: Registry
  private readonly connections = new Set<SignalConnection>()
  private readonly conference: Conference
  private readonly metrics: SfuMetrics
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly http: Server
  private readonly wss: WebSocketServer
  private readonly admission: SignalAdmission
  private listening = false
  private closing: Promise<void> | undefined

  private constructor(
    private readonly config: SfuConfig,
    private readonly deps: ConferenceServerDeps,
    ConferenceClass: typeof Conference,
  ) {
    this.metrics = deps.metrics ?? new SfuMetrics()
    this.clock = deps.clock ?? systemClock
    this.registry = this.metrics.registry
    this.logger = deps.logger.child({ component: 'sfu' })
    this.admission = new SignalAdmission(config, this.metrics)
    this.conference = new ConferenceClass({
      config,
      apps: deps.apps,
      metrics: this.metrics,
      logger: this.logger,
      clock: this.clock,
      ...(deps.now ? { now: deps.now } : {}),
    })
    this.metrics.observe(() => this.conference.counts(this.connections.size))
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.maxMessageBytes,
      perMessageDeflate: false,
    })
    // A join that came with the upgrade is taken (onUpgrade refused a malformed one): the client then
    // waits for `joined` instead of sending its `join` (docs/sfu.md "Join with the upgrade").
    this.wss.on('headers', (headers, req) => {
      if (req.headers[JOIN_HEADER] !== undefined) headers.push(`Pinhole-Join: ${JOIN_ACCEPTED}`)
    })
    this.http = createServer((req, res) => this.onRequest(req, res))
    // Slow or stuck HTTP clients (an upgrade that never completes) do not hold sockets for long.
    this.http.headersTimeout = HTTP_HEADERS_TIMEOUT_MS
    this.http.requestTimeout = HTTP_REQUEST_TIMEOUT_MS
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    )
    this.http.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
      this.metrics.httpClientErrors.inc({ reason: clientErrorReason(error.code) })
      socket.destroy()
    })
  }

  static async start(config: SfuConfig, deps: ConferenceServerDeps): Promise<ConferenceServer> {
    // The room and media layers load werift, which takes about half a second: they load when a server
    // starts, not when src/sfu/index.ts is imported, so that checking a config file stays quick.
    const { Conference } = await import('../room/conference')
    const server = new ConferenceServer(config, deps, Conference)
    await server.listen()
    return server
  }

  /** The port the signaling WebSocket listens on (the one the OS picked when configured with 0). */
  get port(): number {
    return (this.http.address() as AddressInfo).port
  }

  private async listen(): Promise<void> {
    const { http, config } = this
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(config.port, config.listenHost, () => {
        http.off('error', reject)
        resolve()
      })
    })
    this.listening = true
    const { port } = this
    // Which SRTP send forwarding uses (docs/sfu.md "Forwarding cost"): the native one, or node:crypto and
    // dgram with the reason (the addon is not built, or this runtime cannot load it).
    const addon = loadMediaAddon()
    const srtpSend = addon.ok ? { srtpSend: 'native' } : { srtpSend: 'js', srtpSendReason: addon.reason }
    this.logger.info(
      { host: config.listenHost, port, announcedAddress: config.announcedAddress, ...srtpSend },
      'sfu listening',
    )
  }

  /** The admin view: every channel with its participants, tracks and subscriptions. */
  channels(): ChannelSnapshot[] {
    return this.conference.snapshot()
  }

  /** Admin call: closes one app's channel, kicking everyone in it (`channelClosed`). */
  closeChannel(id: ChannelId): boolean {
    return this.conference.closeChannel(id)
  }

  health(): SfuHealth {
    const counts = this.conference.counts(this.connections.size)
    const draining = this.conference.draining
    return {
      ok: this.listening && !draining,
      details: {
        listening: this.listening,
        draining,
        connections: counts.connections,
        channels: counts.channels,
        participants: counts.participants,
        forwardedPackets: this.metrics.forwardedTotals().packets,
      },
    }
  }

  /**
   * Graceful stop, step one: refuse new joins (`server_draining`; with `openChannels`, only those that would
   * open a channel), let present calls go on until every participant has left or `timeoutMs` (default
   * `drainTimeoutMs`) has passed. `close()` ends the rest.
   */
  async drain(options: { timeoutMs?: number; openChannels?: boolean } = {}): Promise<void> {
    this.conference.startDraining({ openChannels: options.openChannels === true })
    const { clock } = this
    const deadline = clock.now() + (options.timeoutMs ?? this.config.drainTimeoutMs)
    while (this.conference.participantCount > 0 && clock.now() < deadline) {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 50))
    }
  }

  /**
   * Moves every participant: each gets `rejoin` and its connection closes 4007, so that its client takes a
   * fresh session and joins where the cluster now places its channel (docs/scaling.md, "Drain"). Call it
   * after the node stopped taking channels (`drain`, placement's draining flag), or the clients come back
   * here. Returns how many participants were moved.
   */
  moveAll(message = 'this conference node is draining; join again'): number {
    const moved = this.conference.moveAll(message)
    if (moved > 0) this.logger.info({ moved }, 'participants moved')
    return moved
  }

  /** Kicks everyone (`serverShutdown`, close 1001), closes every connection and the listener. */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    this.conference.close()
    for (const connection of [...this.connections]) connection.close(1001, 'server shutting down')
    this.listening = false
    await new Promise<void>((resolve) => {
      this.wss.close(() => resolve())
    })
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve())
      this.http.closeAllConnections()
    })
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0]
    if (path !== SIGNAL_PATH || this.closing) {
      socket.end(
        `HTTP/1.1 ${this.closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\n\r\n`,
      )
      return
    }
    const header = decodeJoinHeader(req.headers[JOIN_HEADER])
    if (header.kind === 'invalid') {
      this.metrics.badMessages.inc({ code: 'join_header' })
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n`)
      return
    }
    const admitted = this.admission.admit(req)
    if ('refuse' in admitted) {
      socket.end(`HTTP/1.1 ${admitted.refuse}\r\nConnection: close\r\n\r\n`)
      return
    }
    const { slot } = admitted
    socket.once('close', () => slot.release())
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new SignalConnection(ws, {
        config: this.config,
        metrics: this.metrics,
        logger: this.logger,
        clock: this.clock,
        conference: this.conference,
        closed: (s) => this.connections.delete(s),
        joined: () => slot.authenticate(),
        ...(header.kind === 'join' ? { firstFrame: header.text } : {}),
      })
      this.connections.add(connection)
    })
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]
    if (!this.config.devTokens || path !== DEV_TOKEN_PATH) {
      reply(res, 404, { error: { code: 'not_found', message: 'not found' } })
      return
    }
    if (req.method !== 'POST') {
      reply(res, 405, { error: { code: 'method_not_allowed', message: 'use POST' } })
      return
    }
    readBody(req, MAX_TOKEN_BODY_BYTES)
      .then((body) => this.mintDevToken(body))
      .then(([status, payload]) => reply(res, status, payload))
      .catch((error: unknown) => {
        this.logger.debug({ err: error }, 'dev token request failed')
        reply(res, 400, { error: { code: 'bad_request', message: 'unreadable body' } })
      })
  }

  private async mintDevToken(body: string): Promise<[number, object]> {
    let json: unknown
    try {
      json = JSON.parse(body)
    } catch {
      return [400, { error: { code: 'bad_request', message: 'expected a JSON body' } }]
    }
    const parsed = DevTokenRequestSchema.safeParse(json)
    if (!parsed.success)
      return [400, { error: { code: 'bad_request', message: parsed.error.issues[0]?.message } }]
    const { appKey, channel, uid } = parsed.data
    const app = this.deps.apps.find((a) => a.appKey === appKey)
    if (!app) return [404, { error: { code: 'app_unknown', message: 'unknown appKey' } }]
    const ttlSeconds = parsed.data.ttlSeconds ?? SFU_DEFAULTS.devTokenTtlSeconds
    const now = (this.deps.now ?? Date.now)()
    const token = await mintJoinToken({ appKey, secret: app.secret, channel, uid, ttlSeconds, now })
    const response: DevTokenResponse = { token, expiresAt: Math.floor(now / 1000) + ttlSeconds }
    return [200, response]
  }
}

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new Error('body too large'))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Node's parser errors are HPE_*; the request and headers timeouts share one code; the rest is the socket. */
function clientErrorReason(code: string | undefined): 'malformed' | 'timeout' | 'socket' {
  if (code?.startsWith('HPE_')) return 'malformed'
  return code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'timeout' : 'socket'
}
