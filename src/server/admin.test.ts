import { Counter, Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { ProxyMetrics } from '../proxy'
import { startAdminServer, type AdminServer, type Health } from './admin'
import { parseExposition, withLabels } from './exposition'

const servers: AdminServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function start(
  health: () => Health,
  registry: Registry | Registry[] = new Registry(),
): Promise<string> {
  const server = await startAdminServer({ host: '127.0.0.1', port: 0, registry, health })
  servers.push(server)
  return `http://127.0.0.1:${server.port}`
}

const healthy = (): Health => ({ ok: true, details: { allocations: 3 } })

describe('admin server', () => {
  it('serves /metrics from the registry with its content type', async () => {
    const metrics = new ProxyMetrics({ defaultMetrics: false })
    metrics.allocationCreated()
    metrics.hot.peerToClientPackets = 9
    const base = await start(healthy, metrics.registry)

    const res = await fetch(`${base}/metrics`)

    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType)
    const text = await res.text()
    expect(text).toContain('pinhole_proxy_allocations 1')
    expect(text).toContain('pinhole_proxy_packets_total{direction="peer_to_client"} 9')
  })

  it('merges several registries into one exposition', async () => {
    const proxy = new ProxyMetrics({ defaultMetrics: false })
    const other = new Registry()
    new Counter({ name: 'pinhole_sfu_rooms_total', help: 'rooms', registers: [other] }).inc(2)
    const base = await start(healthy, [proxy.registry, other])

    const text = await (await fetch(`${base}/metrics`)).text()

    expect(text).toContain('pinhole_proxy_allocations 0')
    expect(text).toContain('pinhole_sfu_rooms_total 2')
  })

  it('labels every series of a merged exposition (merging drops the default labels of each registry)', async () => {
    const proxy = new ProxyMetrics({ defaultMetrics: false, defaultLabels: { region: 'lost' } })
    const other = new Registry()
    new Counter({ name: 'pinhole_sfu_rooms_total', help: 'rooms', registers: [other] }).inc(2)
    const server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry: [proxy.registry, other],
      labels: { region: 'shanghai' },
      health: healthy,
    })
    servers.push(server)

    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()

    expect(text).toContain('pinhole_proxy_allocations{region="shanghai"} 0')
    expect(text).toContain('pinhole_sfu_rooms_total{region="shanghai"} 2')
    expect(text).not.toContain('lost')
  })

  it('serves remote series (the sfu.workers) with its own in one family per name, its labels on both', async () => {
    const own = new Registry()
    new Counter({ name: 'process_cpu_seconds_total', help: 'cpu', registers: [own] }).inc(1)
    const remote = withLabels(parseExposition(await own.metrics()), { node: 'w-1' })
    const server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry: own,
      labels: { region: 'sh' },
      remoteMetrics: () => Promise.resolve(remote),
      health: healthy,
    })
    servers.push(server)

    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()

    expect(text.match(/^# TYPE process_cpu_seconds_total counter$/gm)).toHaveLength(1)
    expect(text).toContain('process_cpu_seconds_total{region="sh"} 1\n')
    expect(text).toContain('process_cpu_seconds_total{region="sh",node="w-1"} 1\n')
  })

  it('refuses to merge registries with the same metric names', async () => {
    const a = new ProxyMetrics({ defaultMetrics: false })
    const b = new ProxyMetrics({ defaultMetrics: false })

    await expect(
      startAdminServer({ host: '127.0.0.1', port: 0, registry: [a.registry, b.registry], health: healthy }),
    ).rejects.toThrow(/already/)
  })

  it.each<[string, () => Health, number, unknown]>([
    ['healthy', healthy, 200, { status: 'ok', details: { allocations: 3 } }],
    [
      'unhealthy',
      () => ({ ok: false, details: { draining: true } }),
      503,
      { status: 'unhealthy', details: { draining: true } },
    ],
    [
      'throwing',
      () => {
        throw new Error('boom')
      },
      503,
      { status: 'unhealthy', details: { error: 'boom' } },
    ],
  ])('GET /healthz when %s → %d', async (_name, health, status, body) => {
    const base = await start(health)

    const res = await fetch(`${base}/healthz`)

    expect(res.status).toBe(status)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual(body)
  })

  it.each<[string, string, number]>([
    ['GET', '/', 404],
    ['GET', '/metrics/extra', 404],
    ['GET', '/v1/proxy/session', 404],
    ['POST', '/metrics', 405],
    ['DELETE', '/healthz', 405],
  ])('%s %s → %d', async (method, path, status) => {
    const base = await start(healthy)

    const res = await fetch(`${base}${path}`, { method })

    expect(res.status).toBe(status)
    await res.arrayBuffer()
  })

  it('accepts a query string on /healthz', async () => {
    const base = await start(healthy)

    expect((await fetch(`${base}/healthz?verbose=1`)).status).toBe(200)
  })

  it('reports a port in use', async () => {
    const first = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      health: healthy,
    })
    servers.push(first)

    await expect(
      startAdminServer({ host: '127.0.0.1', port: first.port, registry: new Registry(), health: healthy }),
    ).rejects.toThrow(/EADDRINUSE/)
  })

  it('close() stops listening and is idempotent', async () => {
    const server = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      health: healthy,
    })
    const url = `http://127.0.0.1:${server.port}/healthz`
    await (await fetch(url)).arrayBuffer()

    await server.close()
    await server.close()

    await expect(fetch(url)).rejects.toThrow()
  })
})
