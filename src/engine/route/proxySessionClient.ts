import { request } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { Region } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import {
  PROXY_SESSION_PATH,
  ProxyApiErrorCode,
  ProxyApiErrorSchema,
  ProxySessionInfoSchema,
  type ProxySessionInfo,
} from '../../shared/proxySession'
import { ENGINE_DEFAULTS, sleep, systemClock, type Clock } from '../defaults'
import type { HttpProxyConfig } from './httpProxy'
import { connectPinnedTls, pinOf, type TlsPin } from './tlsPin'

/**
 * The proxy session (docs/architecture.md "A call's life", step 2):
 * `POST https://<proxy>:<tcp>/v1/proxy/session` with the join token over a pinned TLS connection; the answer
 * is validated with the shared schema and checked against the region's whitelist before the engine uses any
 * of it.
 */

export interface RequestOptions {
  timeoutMs?: number
  signal?: AbortSignal
  clock?: Clock
  /** Through a corporate HTTP CONNECT proxy (the pinned TLS runs inside the tunnel). */
  httpProxy?: HttpProxyConfig
}

/**
 * A proxy whose conference cluster cannot place the channel right now answers 503 `cluster_unavailable` or
 * `no_node_available` (docs/proxy.md): Redis restarting, every node full or draining, a node lost and not
 * yet expired. The session is asked again with backoff for up to `budgetMs` (inside the join's 20 s, so a
 * join that still fails says why rather than timing out), then the refusal is the answer.
 */
export interface SessionRetry {
  firstDelayMs: number
  maxDelayMs: number
  budgetMs: number
}
export const SESSION_RETRY_DEFAULTS: Readonly<SessionRetry> = {
  firstDelayMs: 250,
  maxDelayMs: 2000,
  budgetMs: 12_000,
}

const CLUSTER_BUSY: ReadonlySet<string> = new Set([
  ProxyApiErrorCode.ClusterUnavailable,
  ProxyApiErrorCode.NoNodeAvailable,
])

export interface PinnedJsonAnswer {
  status: number
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown
  elapsedMs: number
  fingerprintSha256: string
  leafPem: string
}

const MAX_ANSWER_BYTES = 64 * 1024

/** One JSON POST over a fresh pinned TLS connection (HTTP/1.1, closed after the answer). */
export async function postJsonPinned(
  host: string,
  port: number,
  pin: TlsPin,
  path: string,
  body: unknown,
  options: RequestOptions = {},
): Promise<PinnedJsonAnswer> {
  const clock = options.clock ?? systemClock
  const timeoutMs = options.timeoutMs ?? ENGINE_DEFAULTS.probe.sessionTimeoutMs
  const started = clock.now()
  const tls = await connectPinnedTls(host, port, pin, {
    timeoutMs,
    alpn: ['http/1.1'],
    ...optional(options),
    ...(options.httpProxy ? { httpProxy: options.httpProxy } : {}),
  })
  const answer = await exchangeJson(tls.socket, {
    host,
    port,
    path,
    payload: body === undefined ? '' : JSON.stringify(body),
    timeoutMs,
    leftMs: Math.max(1, timeoutMs - (clock.now() - started)),
    clock,
    ...optional(options),
  })
  return {
    ...answer,
    elapsedMs: clock.now() - started,
    fingerprintSha256: tls.fingerprintSha256,
    leafPem: tls.leafPem,
  }
}

interface Exchange {
  host: string
  port: number
  path: string
  payload: string
  timeoutMs: number
  leftMs: number
  clock: Clock
  signal?: AbortSignal
}

/** POST over an already verified socket; the socket is closed after the answer or on failure. */
function exchangeJson(socket: TLSSocket, x: Exchange): Promise<{ status: number; json: unknown }> {
  const target = `${x.host}:${x.port}`
  return new Promise((resolve, reject) => {
    const done = (): void => {
      x.clock.clearTimeout(timer)
      x.signal?.removeEventListener('abort', onAbort)
    }
    const fail = (error: EngineError): void => {
      done()
      req.destroy()
      socket.destroy()
      reject(error)
    }
    const onAbort = (): void => fail(new EngineError(ErrorCode.JoinCanceled, target))
    const timer = x.clock.setTimeout(
      () => fail(apiError(target, `no HTTP answer in ${x.timeoutMs} ms`)),
      x.leftMs,
    )
    x.signal?.addEventListener('abort', onAbort, { once: true })
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(x.payload),
      connection: 'close',
    }
    const req = request(
      { createConnection: () => socket, host: x.host, port: x.port, method: 'POST', path: x.path, headers },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_ANSWER_BYTES) fail(apiError(target, `answer over ${MAX_ANSWER_BYTES} bytes`))
          else chunks.push(chunk)
        })
        res.on('end', () => {
          done()
          socket.end()
          resolve({ status: res.statusCode ?? 0, json: parseJson(Buffer.concat(chunks).toString('utf8')) })
        })
      },
    )
    req.on('error', (error) => fail(apiError(target, error.message, error)))
    req.end(x.payload)
  })
}

export interface ProxySession {
  info: ProxySessionInfo
  endpoints: SessionEndpoints
  elapsedMs: number
  /** The certificate actually seen (and pinned) on the TCP port. */
  fingerprintSha256: string
  leafPem: string
}

/**
 * Requests a session; every expected failure is an EngineError with its own code. A cluster that cannot
 * place the channel yet (503) is asked again with backoff (SESSION_RETRY_DEFAULTS).
 */
export async function requestProxySession(
  region: Region,
  token: string,
  options: RequestOptions & { retry?: Partial<SessionRetry> } = {},
): Promise<ProxySession> {
  const clock = options.clock ?? systemClock
  const retry = { ...SESSION_RETRY_DEFAULTS, ...options.retry }
  const started = clock.now()
  for (let delay = retry.firstDelayMs; ; delay = Math.min(retry.maxDelayMs, delay * 2)) {
    try {
      return await requestOnce(region, token, options)
    } catch (error) {
      const busy = error instanceof ClusterBusy
      if (!busy || clock.now() - started + delay > retry.budgetMs) throw busy ? error.refusal : error
      await sleep(delay, clock, options.signal)
    }
  }
}

/** A 503 the engine waits out (CLUSTER_BUSY); `refusal` is what the join fails with if it lasts. */
class ClusterBusy extends Error {
  constructor(readonly refusal: EngineError) {
    super(refusal.message)
  }
}

async function requestOnce(region: Region, token: string, options: RequestOptions): Promise<ProxySession> {
  const { proxyHost, ports } = region
  const target = `${proxyHost}:${ports.tcp}`
  const answer = await postJsonPinned(
    proxyHost,
    ports.tcp,
    pinOf(region),
    PROXY_SESSION_PATH,
    { token },
    options,
  )
  if (answer.status !== 200) throw refusal(target, answer)
  const parsed = ProxySessionInfoSchema.safeParse(answer.json)
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))]
    throw new EngineError(ErrorCode.ProxySessionBadAnswer, `${target}: invalid fields ${fields.join(', ')}`)
  }
  return {
    info: parsed.data,
    endpoints: sessionEndpoints(parsed.data, region),
    elapsedMs: answer.elapsedMs,
    fingerprintSha256: answer.fingerprintSha256,
    leafPem: answer.leafPem,
  }
}

const TOKEN_INVALID: ReadonlySet<string> = new Set([
  ProxyApiErrorCode.TokenMissing,
  ProxyApiErrorCode.TokenMalformed,
  ProxyApiErrorCode.TokenInvalid,
  ProxyApiErrorCode.TokenClaims,
  ProxyApiErrorCode.AppUnknown,
])

function refusal(target: string, answer: PinnedJsonAnswer): EngineError | ClusterBusy {
  const parsed = ProxyApiErrorSchema.safeParse(answer.json)
  if (!parsed.success) {
    return new EngineError(
      ErrorCode.ProxySessionApiUnreachable,
      `${target}: HTTP ${answer.status}, not a proxy answer`,
    )
  }
  const { code, message } = parsed.data.error
  const detail = `${target}: HTTP ${answer.status} ${code}: ${message}`
  if (answer.status === 503 && CLUSTER_BUSY.has(code)) {
    return new ClusterBusy(new EngineError(ErrorCode.ProxySessionRefused, detail))
  }
  if (answer.status === 401 && code === ProxyApiErrorCode.TokenExpired) {
    return new EngineError(ErrorCode.ProxySessionTokenExpired, detail)
  }
  if (answer.status === 401 && TOKEN_INVALID.has(code))
    return new EngineError(ErrorCode.ProxySessionTokenInvalid, detail)
  return new EngineError(ErrorCode.ProxySessionRefused, detail)
}

export type TurnRole = 'udp' | 'udpAlt' | 'tcp' | 'tls'

export interface TurnEndpoint {
  url: string
  host: string
  port: number
}

/** The session's TURN URLs by role; a role the proxy does not offer is absent. */
export type SessionEndpoints = Partial<Record<TurnRole, TurnEndpoint>>

/**
 * Maps the answer's URLs onto the region's whitelist: every URL and the signaling URL must name the
 * region's proxy host and one of its ports, or the engine refuses the answer (it sends nothing anywhere
 * else: docs/architecture.md "Regions").
 */
export function sessionEndpoints(info: ProxySessionInfo, region: Region): SessionEndpoints {
  const endpoints: SessionEndpoints = {}
  const host = bare(region.proxyHost)
  const off = (what: string): EngineError =>
    new EngineError(
      ErrorCode.ProxySessionOffWhitelist,
      `${what} is not ${region.proxyHost} on ${region.ports.udp.join('/')}/udp or ${region.ports.tcp}/tcp`,
    )
  for (const url of info.turn.urls) {
    const parsed = /^(turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url)
    if (!parsed) throw off(url)
    const [, scheme = '', rawHost = '', rawPort, transport] = parsed
    const secure = scheme.toLowerCase() === 'turns'
    const port = Number(rawPort ?? (secure ? 5349 : 3478))
    if (bare(rawHost) !== host) throw off(url)
    const role = roleOf(region, secure, transport?.toLowerCase() ?? (secure ? 'tcp' : 'udp'), port)
    if (role === undefined) throw off(url)
    endpoints[role] ??= { url, host: region.proxyHost, port }
  }
  const signal = /^wss?:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\//i.exec(info.signalUrl)
  if (!signal || bare(signal[1] ?? '') !== host || Number(signal[2] ?? 443) !== region.ports.tcp) {
    throw off(info.signalUrl)
  }
  return endpoints
}

function roleOf(region: Region, secure: boolean, transport: string, port: number): TurnRole | undefined {
  if (transport === 'tcp') {
    if (port !== region.ports.tcp) return undefined
    return secure ? 'tls' : 'tcp'
  }
  if (secure) return undefined
  if (port === region.ports.udp[0]) return 'udp'
  if (port === region.ports.udp[1]) return 'udpAlt'
  return undefined
}

function bare(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase()
}

function apiError(target: string, detail: string, cause?: unknown): EngineError {
  return new EngineError(ErrorCode.ProxySessionApiUnreachable, `${target}: ${detail}`, { cause })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    // Not JSON: the caller reports "not a proxy answer" with the status it got.
    return undefined
  }
}

function optional(options: RequestOptions): { signal?: AbortSignal; clock?: Clock } {
  const out: { signal?: AbortSignal; clock?: Clock } = {}
  if (options.signal) out.signal = options.signal
  if (options.clock) out.clock = options.clock
  return out
}
