import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { ProxyApiErrorCode, type ProxyApiError } from '../../shared/proxySession'
import type { ConnectionAuth } from '../../platform/connectionSlots'

/**
 * A tiny router for the proxy's HTTP surface on TCP 443: exact paths, JSON answers, JSON errors
 * (`{error: {code, message}}`, src/shared/proxySession.ts). Unknown paths → 404, wrong method → 405.
 */

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>
/** `auth`: the connection's slot on the TCP port, for a handler that learns the client authenticated. */
export type UpgradeHandler = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  auth?: ConnectionAuth,
) => void

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  handler: RequestHandler
}

export interface UpgradeRoute {
  path: string
  handler: UpgradeHandler
}

/** An HTTP answer instead of a WebSocket upgrade; the socket is destroyed once it is written. */
export function refuseUpgrade(socket: Duplex, status: string, text = ''): void {
  const body = text ? `${text}\n` : ''
  const head = `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n`
  socket.end(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy())
}

/** After a 413, how long the rest of an oversized body is drained before the connection is dropped. */
const BODY_DRAIN_GRACE_MS = 1000

export const HTTP_APP_EVENTS = [
  'http_request',
  'http_not_found',
  'http_method_not_allowed',
  'http_body_too_large',
  'http_handler_error',
] as const
export type HttpAppEvent = (typeof HTTP_APP_EVENTS)[number]

export interface HttpAppOptions {
  routes: Route[]
  upgrades?: UpgradeRoute[]
  onEvent?: (event: HttpAppEvent) => void
}

/** What port443 plugs into its `http.Server`. */
export interface HttpApp {
  handleRequest(req: IncomingMessage, res: ServerResponse): void
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, auth?: ConnectionAuth): void
}

/** An expected HTTP failure: handlers throw it, the router answers it as JSON. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'HttpError'
  }

  static badRequest(message: string): HttpError {
    return new HttpError(400, ProxyApiErrorCode.BadRequest, message)
  }

  static payloadTooLarge(limit: number): HttpError {
    return new HttpError(413, ProxyApiErrorCode.PayloadTooLarge, `request body over ${limit} bytes`)
  }
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const emit = safeEmitter(options.onEvent)
  const routes = options.routes
  const upgrades = options.upgrades ?? []

  return {
    handleRequest(req, res) {
      emit('http_request')
      const path = pathOf(req)
      const samePath = routes.filter((route) => route.path === path)
      if (samePath.length === 0) {
        emit('http_not_found')
        sendError(res, 404, ProxyApiErrorCode.NotFound, `no route for ${path}`)
        return
      }
      const route = samePath.find((r) => r.method === req.method)
      if (!route) {
        emit('http_method_not_allowed')
        res.setHeader('Allow', samePath.map((r) => r.method).join(', '))
        sendError(res, 405, ProxyApiErrorCode.MethodNotAllowed, `${req.method ?? '?'} not allowed on ${path}`)
        return
      }
      Promise.resolve()
        .then(() => route.handler(req, res))
        .catch((error: unknown) => {
          if (error instanceof HttpError) {
            if (error.status === 413) {
              emit('http_body_too_large')
              // Discard what is still coming so that closing does not reset the connection before the
              // client reads the 413; the grace timer bounds how long a client can keep sending.
              req.resume()
              res.setHeader('Connection', 'close')
              res.on('finish', () => setTimeout(() => req.socket.destroy(), BODY_DRAIN_GRACE_MS).unref())
            }
            sendError(res, error.status, error.code, error.message)
            return
          }
          emit('http_handler_error')
          sendError(res, 500, ProxyApiErrorCode.Internal, 'internal error')
        })
    },

    handleUpgrade(req, socket, head, auth) {
      const path = pathOf(req)
      const route = upgrades.find((u) => u.path === path)
      if (!route || req.method !== 'GET') {
        emit(route ? 'http_method_not_allowed' : 'http_not_found')
        rejectUpgrade(socket, route ? 405 : 404, route ? 'Method Not Allowed' : 'Not Found')
        return
      }
      route.handler(req, socket, head, auth)
    },
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return
  const payload = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(payload))
  res.setHeader('Cache-Control', 'no-store')
  res.end(payload)
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body: ProxyApiError = { error: { code, message } }
  sendJson(res, status, body)
}

/** Reads the whole body, failing with 413 as soon as it exceeds `maxBytes` (Content-Length or streamed). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (Number.isFinite(declared) && declared > maxBytes)
    return Promise.reject(HttpError.payloadTooLarge(maxBytes))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > maxBytes) {
        cleanup()
        req.pause()
        reject(HttpError.payloadTooLarge(maxBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks, size))
    }
    const onError = (error: Error): void => {
      cleanup()
      reject(new HttpError(400, ProxyApiErrorCode.BadRequest, 'request body aborted', { cause: error }))
    }
    const onClose = (): void => {
      if (req.complete) return
      onError(new Error('connection closed before the body ended'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/** Parses a JSON body (empty body → undefined); anything else than JSON → 400/415. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes)
  if (body.length === 0) return undefined
  const type = req.headers['content-type']
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    throw new HttpError(415, ProxyApiErrorCode.UnsupportedMediaType, 'expected application/json')
  }
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new HttpError(400, ProxyApiErrorCode.BadRequest, 'body is not valid JSON', { cause: error })
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

const TLS_REQUIRED_MESSAGE =
  'this port answers HTTP over TLS only: use https:// for the session API and wss:// for signaling'

/** Plain HTTP on the public port: say to use TLS, hand nothing to the app, and close. */
export function sendTlsRequired(req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  res.setHeader('Connection', 'close')
  sendError(res, 400, ProxyApiErrorCode.TlsRequired, TLS_REQUIRED_MESSAGE)
}

/** The `tls_required` answer written raw, for a plain-HTTP upgrade request (no ServerResponse there). */
export function plainHttpAnswer(): string {
  const body = JSON.stringify({
    error: { code: ProxyApiErrorCode.TlsRequired, message: TLS_REQUIRED_MESSAGE },
  } satisfies ProxyApiError)
  return (
    'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n' +
    `Cache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  )
}

function rejectUpgrade(socket: Duplex, status: 404 | 405, text: string): void {
  const code = status === 404 ? ProxyApiErrorCode.NotFound : ProxyApiErrorCode.MethodNotAllowed
  const body = JSON.stringify({ error: { code, message: text } } satisfies ProxyApiError)
  const head =
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`
  socket.end(head + body, () => socket.destroy())
}

/** A throwing listener must not break the caller: an observer's bug costs an event, not the connection. */
export function safeEmitter<E>(listener: ((event: E) => void) | undefined): (event: E) => void {
  if (!listener) return () => undefined
  return (event) => {
    try {
      listener(event)
    } catch (error) {
      // Metrics callbacks are best effort: a bug there is reported, and must not take a connection down.
      process.emitWarning(`pinhole: event listener threw on ${String(event)}: ${String(error)}`)
    }
  }
}
