import { timingSafeEqual } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import { CONTENT_SECURITY_POLICY, type EngineLogger } from '../app'
import { BRIDGE_SCRIPT_PATH, BRIDGE_WS_PATH, SECRET_COOKIE, SECRET_PARAM } from '../shared/webBridge'
import { servePage } from './page'

/**
 * The browser host's HTTP side: who may talk to it — its own port on 127.0.0.1 or localhost only (a DNS
 * rebinding page sends its own Host), with this run's key, first in the URL and then as a cookie — and what
 * it serves (the page with the bridge script, the bridge script, the built renderer's files), every
 * response with the app's CSP.
 */

/** Who the host answers: its origin, the Host headers and page origins it accepts, and this run's key. */
export interface HostGate {
  readonly secret: string
  readonly origin: string
  readonly hosts: ReadonlySet<string>
  readonly origins: ReadonlySet<string>
}

export function hostGate(port: number, secret: string): HostGate {
  const origin = `http://127.0.0.1:${port}`
  return {
    secret,
    origin,
    hosts: new Set([`127.0.0.1:${port}`, `localhost:${port}`]),
    origins: new Set([origin, `http://localhost:${port}`]),
  }
}

/** What the host serves: the built renderer, its index.html, and the bridge script. */
export interface Site {
  rendererDir: string
  indexHtml: string
  script: string
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

export const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
}

/** The HTTP server's request listener; a request that throws gets a 500 and a log line. */
export function requestHandler(
  site: Site,
  gate: HostGate,
  logger: EngineLogger,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handleRequest(site, gate, req, res).catch((error: unknown) => {
      logger.error({ err: error, url: req.url }, 'web host request failed')
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS)
      res.end()
    })
  }
}

async function handleRequest(
  site: Site,
  gate: HostGate,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!gate.hosts.has(req.headers.host ?? '')) return plain(res, 421, 'wrong host')
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed')
  const url = URL.parse(req.url ?? '/', gate.origin)
  if (url === null) return plain(res, 400, 'bad request')
  const given = url.searchParams.get(SECRET_PARAM)
  if (given !== null) {
    if (!sameSecret(given, gate.secret)) return plain(res, 403, 'wrong key: open the URL the host printed')
    // The secret becomes a cookie and leaves the address bar.
    res.writeHead(302, {
      ...SECURITY_HEADERS,
      'Set-Cookie': `${SECRET_COOKIE}=${gate.secret}; HttpOnly; SameSite=Strict; Path=/`,
      Location: '/',
    })
    return void res.end()
  }
  if (!hasSecret(req, gate))
    return plain(res, 403, 'open the URL the Pinhole web host printed (it carries a key)')
  return serveFile(site, url.pathname, res)
}

async function serveFile(site: Site, pathname: string, res: ServerResponse): Promise<void> {
  if (pathname === '/' || pathname === '/index.html') {
    return send(res, 200, CONTENT_TYPES['.html']!, servePage(site.indexHtml))
  }
  if (pathname === BRIDGE_SCRIPT_PATH) return send(res, 200, CONTENT_TYPES['.js']!, site.script)
  if (pathname === '/favicon.ico') {
    res.writeHead(204, SECURITY_HEADERS)
    return void res.end()
  }
  const file = safeJoin(site.rendererDir, pathname)
  const info = file ? await stat(file).catch(() => undefined) : undefined
  if (!file || !info?.isFile()) return plain(res, 404, 'not found')
  const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream'
  return send(res, 200, type, await readFile(file))
}

/** The bridge WebSocket's URL when the upgrade may proceed: right path, host, origin and key. */
export function bridgeUpgradeUrl(req: IncomingMessage, gate: HostGate): URL | undefined {
  const url = URL.parse(req.url ?? '/', gate.origin)
  const allowed =
    url !== null &&
    url.pathname === BRIDGE_WS_PATH &&
    gate.hosts.has(req.headers.host ?? '') &&
    gate.origins.has(req.headers.origin ?? '') &&
    hasSecret(req, gate)
  return allowed ? url : undefined
}

function hasSecret(req: IncomingMessage, gate: HostGate): boolean {
  const cookie = parseCookies(req.headers.cookie)[SECRET_COOKIE]
  return cookie !== undefined && sameSecret(cookie, gate.secret)
}

function plain(res: ServerResponse, status: number, text: string): void {
  send(res, status, 'text/plain; charset=utf-8', `${text}\n`)
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type })
  res.end(body)
}

/** A path under `root` for the URL path, or undefined if it would leave it. */
function safeJoin(root: string, pathname: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return undefined // a malformed escape is not a file of ours
  }
  if (decoded.includes('\0')) return undefined
  const file = normalize(join(root, decoded))
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : undefined
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=')
    if (index > 0) out[part.slice(0, index).trim()] = part.slice(index + 1).trim()
  }
  return out
}

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(secret)
  return a.length === b.length && timingSafeEqual(a, b)
}
