import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer, type WebSocket } from 'ws'
import type { CreateEngineOptions } from '../engine/engine'
import { silentLogger, type EngineLogger } from '../engine/defaults'
import type { Region } from '../shared/engine'
import {
  BRIDGE_SCRIPT_PATH,
  BRIDGE_WS_PATH,
  PROFILE_PARAM,
  SECRET_COOKIE,
  SECRET_PARAM,
} from '../shared/webBridge'
import {
  sharedLocalStack,
  type AppCore,
  type AppCoreOptions,
  type SharedLocalStack,
} from '../main/core/appCore'
import type { DiagnosticsOptions } from '../main/core/diagnosticsExport'
import { acquireLocalStack } from '../main/core/discovery'
import { startLocalStack, type LocalStackInfo } from '../main/core/localStack'
import { effectiveSettings, type PolicyLoad } from '../main/policy'
import { CONTENT_SECURITY_POLICY } from '../main/window'
import { bridgeScript } from './bridgeBuild'
import { attachPage, servePage } from './page'

/**
 * The browser host (docs/app.md): the built renderer over HTTP on 127.0.0.1, a bridge script that gives
 * the page the same `window.pinhole` as the Electron preload, and one app core per connected page — each
 * browser is a participant — all sharing one embedded stack (or the configured regions).
 */

export interface WebHostOptions {
  /** Settings of each page's core: `<dataDir>/pages/<profile>`. */
  dataDir: string
  /** Default 0: a free port. Always bound to 127.0.0.1. */
  port?: number
  /** Regions for every page; none → the embedded local stack. */
  regions?: readonly Region[]
  policy?: PolicyLoad
  /** The built renderer; default `out/renderer` of this checkout. */
  rendererDir?: string
  /** Share the embedded stack with other processes by discovery (discovery.ts). Default: a private stack. */
  runDir?: string
  logger?: EngineLogger
  /**
   * "Export diagnostics" of every page: folder (default `<dataDir>/pages/<profile>/diagnostics`), the log
   * files to include, versions (default this checkout's package.json version).
   */
  diagnostics?: DiagnosticsOptions
  /** "Network check" seams for every page's core (tests: probe timeouts). */
  networkCheck?: AppCoreOptions['networkCheck']
  /** Extra engine options for every page's core (tests). */
  engine?: Partial<CreateEngineOptions>
}

export interface WebHost {
  /** Open this: `http://127.0.0.1:PORT/?k=SECRET`. */
  url: string
  origin: string
  port: number
  /** Connected pages (one app core each). */
  pages(): number
  /** The embedded stack every page uses, started with the host (undefined with configured regions). */
  readonly localStack: LocalStackInfo | undefined
  close(): Promise<void>
}

const NO_POLICY: PolicyLoad = { status: 'none', path: '(none)' }
const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../out/renderer/', import.meta.url))

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

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const rendererDir = resolve(options.rendererDir ?? DEFAULT_RENDERER_DIR)
  const indexHtml = await readFile(join(rendererDir, 'index.html'), 'utf8').catch((error: unknown) => {
    throw new Error(`no built renderer in ${rendererDir}: run "npm run build" first`, { cause: error })
  })
  const script = await bridgeScript()
  const logger = options.logger ?? silentLogger
  const secret = randomBytes(24).toString('base64url')
  const stack: SharedLocalStack = sharedLocalStack(() =>
    options.runDir !== undefined ? acquireLocalStack({ runDir: options.runDir, logger }) : startLocalStack(),
  )
  let stackInfo: LocalStackInfo | undefined
  const pages = new Map<WebSocket, Promise<AppCore | undefined>>()
  const profiles = new Set<string>()

  const http = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      logger.error({ err: error, url: req.url }, 'web host request failed')
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS)
      res.end()
    })
  })
  http.headersTimeout = 10_000
  http.requestTimeout = 30_000
  await new Promise<void>((done, fail) => {
    http.once('error', fail)
    http.listen(options.port ?? 0, '127.0.0.1', () => {
      http.off('error', fail)
      done()
    })
  })
  // The embedded stack starts with the host (not with the first page), so `localStack` is known at once
  // and other instances can find it by discovery straight away.
  const plan = effectiveSettings({ regions: [...(options.regions ?? [])] }, options.policy ?? NO_POLICY)
  if (plan.regions.length === 0 && plan.allowEmbeddedStack) {
    try {
      stackInfo = (await stack.get()).info
    } catch (error) {
      http.close()
      throw error
    }
  }
  const port = (http.address() as AddressInfo).port
  const origin = `http://127.0.0.1:${port}`
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`])
  const origins = new Set([origin, `http://localhost:${port}`])

  const hasSecret = (req: IncomingMessage): boolean => {
    const cookie = parseCookies(req.headers.cookie)[SECRET_COOKIE]
    return cookie !== undefined && sameSecret(cookie, secret)
  }

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hosts.has(req.headers.host ?? '')) return plain(res, 421, 'wrong host')
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed')
    const url = URL.parse(req.url ?? '/', origin)
    if (url === null) return plain(res, 400, 'bad request')
    const given = url.searchParams.get(SECRET_PARAM)
    if (given !== null) {
      if (!sameSecret(given, secret)) return plain(res, 403, 'wrong key: open the URL the host printed')
      // The secret becomes a cookie and leaves the address bar.
      res.writeHead(302, {
        ...SECURITY_HEADERS,
        'Set-Cookie': `${SECRET_COOKIE}=${secret}; HttpOnly; SameSite=Strict; Path=/`,
        Location: '/',
      })
      return void res.end()
    }
    if (!hasSecret(req))
      return plain(res, 403, 'open the URL the Pinhole web host printed (it carries a key)')
    if (url.pathname === '/' || url.pathname === '/index.html') {
      return send(res, 200, CONTENT_TYPES['.html']!, servePage(indexHtml))
    }
    if (url.pathname === BRIDGE_SCRIPT_PATH) return send(res, 200, CONTENT_TYPES['.js']!, script)
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS)
      return void res.end()
    }
    const file = safeJoin(rendererDir, url.pathname)
    const info = file ? await stat(file).catch(() => undefined) : undefined
    if (!file || !info?.isFile()) return plain(res, 404, 'not found')
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream'
    return send(res, 200, type, await readFile(file))
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024, perMessageDeflate: false })
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = URL.parse(req.url ?? '/', origin)
    const allowed =
      url !== null &&
      url.pathname === BRIDGE_WS_PATH &&
      hosts.has(req.headers.host ?? '') &&
      origins.has(req.headers.origin ?? '') &&
      hasSecret(req)
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const requested = url.searchParams.get(PROFILE_PARAM) ?? ''
      pages.set(ws, openPage(ws, requested))
      // The page's own close handler (page.ts) closes its core; the host only forgets it.
      ws.once('close', () => pages.delete(ws))
    })
  })

  async function openPage(ws: WebSocket, requested: string): Promise<AppCore | undefined> {
    const profile = uniqueProfile(/^[A-Za-z0-9_-]{1,32}$/.test(requested) ? requested : 'page', profiles)
    profiles.add(profile)
    ws.once('close', () => profiles.delete(profile))
    try {
      const core = await attachPage(ws, {
        dataDir: join(options.dataDir, 'pages', profile),
        ...(options.regions ? { regions: options.regions } : {}),
        ...(options.policy ? { policy: options.policy } : {}),
        localStack: async () => {
          const local = await stack.get()
          stackInfo = local.info
          return local
        },
        logger,
        diagnostics: { versions: { app: packageVersion() }, ...options.diagnostics },
        ...(options.networkCheck ? { networkCheck: options.networkCheck } : {}),
        ...(options.engine ? { engine: options.engine } : {}),
      })
      logger.info({ profile }, 'page connected')
      return core
    } catch (error) {
      logger.error({ err: error }, 'page core failed to start')
      ws.close(1011, 'core failed to start')
      return undefined
    }
  }

  return {
    url: `${origin}/?${SECRET_PARAM}=${secret}`,
    origin,
    port,
    pages: () => pages.size,
    get localStack() {
      return stackInfo
    },
    async close() {
      const open = [...pages.entries()]
      for (const [ws] of open) ws.close(1001, 'host closing')
      await Promise.allSettled(open.map(async ([, core]) => (await core)?.close()))
      pages.clear()
      wss.close()
      await new Promise<void>((done) => {
        http.close(() => done())
        http.closeAllConnections()
      })
      await stack.close()
    },
  }

  function uniqueProfile(base: string, taken: ReadonlySet<string>): string {
    if (!taken.has(base)) return base
    for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`
  }
}

function packageVersion(): string {
  try {
    const text = readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')
    return String((JSON.parse(text) as { version?: unknown }).version ?? 'development')
  } catch {
    return 'development' // not run from a checkout
  }
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
