/**
 * Test-only: the whole path a desktop's call takes, in-process on loopback — a ConferenceServer and a
 * ProxyServer whose signaling upstream is that server (peers 127.0.0.0/8 allowed, loopback allowed), the
 * Region that points at the proxy (pinned by fingerprint), and join tokens both accept. Signaling from the
 * proxy to the server passes a TCP relay the test can cut, to lose signaling while media carries on.
 */
import { connect, createServer, type Socket } from 'node:net'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { ProxyMetrics, ProxyServer } from '../../src/proxy'
import { TEST_APP, testProxyConfig } from './proxyConfig'
import { createLogger, type LogLevel } from '../../src/platform/logger'
import type { Region } from '../../src/shared/engine'
import { ConferenceServer, type SfuApp, SfuConfigSchema, type SfuConfigInput } from '../../src/sfu'

export interface CallStack {
  sfu: ConferenceServer
  proxy: ProxyServer
  proxyMetrics: ProxyMetrics
  region: Region
  /** ws:// of the conference server itself (direct mode). */
  sfuUrl: string
  /** ws:// through the cuttable relay (what this stack's proxy relays signaling to). */
  relayUrl: string
  token(channel: string, uid: number, ttlSeconds?: number): Promise<string>
  /**
   * Cuts every signaling connection between the proxy and the conference server (media is untouched) and
   * refuses new ones for `downMs`. Returns how many were cut.
   */
  cutSignaling(downMs?: number): number
  close(): Promise<void>
}

/** A TCP relay in front of the conference server's signaling port whose connections a test can cut. */
async function cuttableRelay(
  port: number,
): Promise<{ port: number; cut: (downMs?: number) => number; close: () => Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>()
  let downUntil = 0
  const server = createServer((downstream) => {
    if (Date.now() < downUntil) return void downstream.destroy()
    const upstream = connect(port, '127.0.0.1')
    const pair: [Socket, Socket] = [downstream, upstream]
    pairs.add(pair)
    for (const socket of pair) {
      socket.on('error', () => pair.forEach((s) => s.destroy()))
      socket.on('close', () => (pair.forEach((s) => s.destroy()), pairs.delete(pair)))
    }
    downstream.pipe(upstream).pipe(downstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const cut = (downMs = 0): number => {
    downUntil = Date.now() + downMs
    const count = pairs.size
    for (const pair of pairs) pair.forEach((s) => s.destroy())
    return count
  }
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut()
        server.close(() => resolve())
      }),
  }
}

export interface ProxyRegion {
  proxy: ProxyServer
  region: Region
}

/** A ProxyServer whose signaling upstream is `upstream` (ws://), and the Region pointing at it. */
export async function startProxyRegion(upstream: string, id: string): Promise<ProxyRegion> {
  const level = (process.env.PINHOLE_TEST_LOG ?? 'silent') as LogLevel
  const proxy = await ProxyServer.start(testProxyConfig({ proxy: { signal: { upstream } } }), {
    logger: createLogger(level),
    metrics: new ProxyMetrics({ defaultMetrics: false }),
  })
  return { proxy, region: regionOf(proxy, id) }
}

function regionOf(proxy: ProxyServer, id: string): Region {
  const { udp, tcp } = proxy.addresses()
  return {
    id,
    name: `Loopback ${id}`,
    proxyHost: '127.0.0.1',
    ports: { udp: [udp[0]!, udp[1]!], tcp },
    tlsFingerprintSha256: proxy.tlsFingerprint,
  }
}

/**
 * `proxyOverrides`: fields of the proxy's config section (e.g. `credentialTtlSeconds`). `apps`: what the
 * proxy and the conference server both accept (`token()` mints for the first).
 */
export async function startCallStack(
  sfuOverrides: SfuConfigInput = {},
  id = 'test',
  proxyOverrides: Record<string, unknown> = {},
  apps: readonly SfuApp[] = [TEST_APP],
): Promise<CallStack> {
  const app = apps[0] ?? TEST_APP
  const level = (process.env.PINHOLE_TEST_LOG ?? 'silent') as LogLevel
  const sfu = await ConferenceServer.start(
    SfuConfigSchema.parse({ enabled: true, port: 0, ...sfuOverrides }),
    { apps, logger: createLogger(level) },
  )
  const sfuUrl = `ws://127.0.0.1:${sfu.port}/v1/signal`
  const relay = await cuttableRelay(sfu.port)
  const upstream = `ws://127.0.0.1:${relay.port}/v1/signal`
  const proxyMetrics = new ProxyMetrics({ defaultMetrics: false })
  const proxy = await ProxyServer.start(
    testProxyConfig({ apps: [...apps], proxy: { ...proxyOverrides, signal: { upstream } } }),
    { logger: createLogger(level), metrics: proxyMetrics },
  )
  const region = regionOf(proxy, id)
  return {
    sfu,
    proxy,
    proxyMetrics,
    region,
    sfuUrl,
    relayUrl: upstream,
    token: (channel, uid, ttlSeconds = 120) =>
      mintJoinToken({ appKey: app.appKey, secret: app.secret, channel, uid, ttlSeconds }),
    cutSignaling: relay.cut,
    close: async () => {
      await sfu.close()
      await proxy.close()
      await relay.close()
    },
  }
}
