import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { mergeExpositions, parseExposition, withLabels, type MetricFamily } from './exposition'

export interface Health {
  ok: boolean
  details: Record<string, unknown>
}

export interface AdminServerOptions {
  host: string
  /** 0 picks a free port (tests). */
  port: number
  /** One registry, or several merged into one exposition (proxy + conference server). */
  registry: Registry | Registry[]
  /**
   * Labels added to every series served, e.g. `{ region: 'shanghai' }`. Set them here rather than on the
   * registries: prom-client's merge keeps the metrics but drops each registry's default labels.
   */
  labels?: Record<string, string>
  /**
   * Series of other processes served with this one's (the `sfu.workers`, each under its `node` label),
   * fetched at each scrape; `labels` are added to them too.
   */
  remoteMetrics?: () => Promise<MetricFamily[]>
  health: () => Health | Promise<Health>
}

export interface AdminServer {
  /** The bound port. */
  readonly port: number
  close(): Promise<void>
}

/**
 * The operations listener: `GET /metrics` (Prometheus text) and `GET /healthz` (200 or 503, JSON).
 * It is separate from the whitelisted ports and bound to loopback unless the config says otherwise
 * (docs/architecture.md, "Design decisions": ports); it serves nothing else.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const registries = Array.isArray(options.registry) ? options.registry : [options.registry]
  // Registry.merge refuses duplicate metric names, so a misconfigured merge fails at start, not per scrape.
  // A single registry is served as is unless labels are wanted (merging leaves the caller's one untouched).
  const registry =
    registries.length === 1 && options.labels === undefined ? registries[0]! : Registry.merge(registries)
  if (options.labels) registry.setDefaultLabels(options.labels)

  const server = createServer((req, res) => {
    handle(req, res, registry.contentType, () => exposition(registry, options), options.health).catch(
      (err: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${String(err)}\n`)
        else res.destroy(err instanceof Error ? err : undefined)
      },
    )
  })
  server.headersTimeout = 5_000
  server.requestTimeout = 10_000
  server.keepAliveTimeout = 5_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo

  let closed: Promise<void> | undefined
  return {
    port,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      })
      return closed
    },
  }
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  contentType: string,
  metrics: () => Promise<string>,
  health: () => Health | Promise<Health>,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://admin').pathname
  if (path !== '/metrics' && path !== '/healthz')
    return send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n')
  }
  if (path === '/metrics') return send(res, 200, contentType, await metrics())

  let body: { status: 'ok' | 'unhealthy'; details: Record<string, unknown> }
  try {
    const h = await health()
    body = { status: h.ok ? 'ok' : 'unhealthy', details: h.details }
  } catch (err) {
    // A throwing health check is itself a failed check, reported rather than crashing the listener.
    body = { status: 'unhealthy', details: { error: err instanceof Error ? err.message : String(err) } }
  }
  send(res, body.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`)
}

async function exposition(registry: Registry, options: AdminServerOptions): Promise<string> {
  const own = await registry.metrics()
  if (options.remoteMetrics === undefined) return own
  const remote = withLabels(await options.remoteMetrics(), options.labels ?? {})
  return mergeExpositions([parseExposition(own), remote])
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}
