import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer } from 'ws'
import type { Region } from '../shared/engine'
import { PROFILE_PARAM, SECRET_PARAM } from '../shared/webBridge'
import {
  acquireLocalStack,
  effectiveSettings,
  sharedLocalStack,
  silentLogger,
  startLocalStack,
  type AppCoreOptions,
  type DiagnosticsOptions,
  type EngineLogger,
  type LocalStackInfo,
  type PolicyLoad,
  type SharedLocalStack,
} from '../app'
import { bridgeScript } from './bridgeBuild'
import { Pages } from './pages'
import { bridgeUpgradeUrl, hostGate, requestHandler, type HostGate, type Site } from './routes'

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
  /** Share the embedded stack with other processes by discovery (src/app/stack). Default: a private stack. */
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
  engine?: AppCoreOptions['engine']
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

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const site = await loadSite(resolve(options.rendererDir ?? DEFAULT_RENDERER_DIR))
  const logger = options.logger ?? silentLogger
  const stack: SharedLocalStack = sharedLocalStack(() =>
    options.runDir !== undefined ? acquireLocalStack({ runDir: options.runDir, logger }) : startLocalStack(),
  )
  let stackInfo: LocalStackInfo | undefined
  const pages = new Pages({
    ...options,
    logger,
    localStack: async () => {
      const local = await stack.get()
      stackInfo = local.info
      return local
    },
  })
  const http = createServer()
  http.headersTimeout = 10_000
  http.requestTimeout = 30_000
  await listen(http, options.port ?? 0)
  const port = (http.address() as AddressInfo).port
  const gate = hostGate(port, randomBytes(24).toString('base64url'))
  http.on('request', requestHandler(site, gate, logger))
  const wss = bridgeSockets(http, gate, pages)
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
  return {
    url: `${gate.origin}/?${SECRET_PARAM}=${gate.secret}`,
    origin: gate.origin,
    port,
    pages: () => pages.size,
    get localStack() {
      return stackInfo
    },
    async close() {
      await pages.closeAll()
      wss.close()
      await new Promise<void>((done) => {
        http.close(() => done())
        http.closeAllConnections()
      })
      await stack.close()
    },
  }
}

async function loadSite(rendererDir: string): Promise<Site> {
  const indexHtml = await readFile(join(rendererDir, 'index.html'), 'utf8').catch((error: unknown) => {
    throw new Error(`no built renderer in ${rendererDir}: run "npm run build" first`, { cause: error })
  })
  return { rendererDir, indexHtml, script: await bridgeScript() }
}

function listen(http: Server, port: number): Promise<void> {
  return new Promise<void>((done, fail) => {
    http.once('error', fail)
    http.listen(port, '127.0.0.1', () => {
      http.off('error', fail)
      done()
    })
  })
}

/** The bridge WebSocket of each page: refused unless the gate allows it, else a page of `pages`. */
function bridgeSockets(http: Server, gate: HostGate, pages: Pages): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024, perMessageDeflate: false })
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = bridgeUpgradeUrl(req, gate)
    if (url === undefined) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => pages.accept(ws, url.searchParams.get(PROFILE_PARAM) ?? ''))
  })
  return wss
}
