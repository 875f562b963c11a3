/** Test-only: a real ProxyServer on loopback, the Region that points at it, and stand-ins for blocked ports. */
import { createSocket } from 'node:dgram'
import { createServer, type Socket } from 'node:net'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { ProxyMetrics, ProxyServer } from '../../src/proxy'
import { TEST_APP, testProxyConfig } from './proxyConfig'
import { createLogger } from '../../src/platform/logger'
import type { Region } from '../../src/shared/engine'

export interface ProxyFixture {
  server: ProxyServer
  metrics: ProxyMetrics
  /** Pinned by fingerprint. */
  region: Region
  token(options?: { uid?: number; ttlSeconds?: number; secret?: string; channel?: string }): Promise<string>
  /** Live TURN allocations on the proxy. */
  allocations(): number
  close(): Promise<void>
}

export async function startProxyFixture(id = 'test'): Promise<ProxyFixture> {
  const metrics = new ProxyMetrics({ defaultMetrics: false })
  const server = await ProxyServer.start(testProxyConfig(), { logger: createLogger('silent'), metrics })
  const { udp, tcp } = server.addresses()
  const region: Region = {
    id,
    name: `Loopback ${id}`,
    proxyHost: '127.0.0.1',
    ports: { udp: [udp[0]!, udp[1]!], tcp },
    tlsFingerprintSha256: server.tlsFingerprint,
  }
  return {
    server,
    metrics,
    region,
    token: (options = {}) =>
      mintJoinToken({
        appKey: TEST_APP.appKey,
        secret: options.secret ?? TEST_APP.secret,
        channel: options.channel ?? 'room-1',
        uid: options.uid ?? 42,
        ttlSeconds: options.ttlSeconds ?? 60,
      }),
    allocations: () => Number(server.health().details.allocations),
    close: () => server.close(),
  }
}

/** A UDP port nobody listens on (the kernel answers ICMP port unreachable). */
export async function closedUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const port = socket.address().port
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

/** A TCP port nobody listens on (connections are refused). */
export async function closedTcpPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return typeof address === 'object' && address ? address.port : 0
}

export interface Listener {
  port: number
  /** Datagrams received (UDP) or connections accepted (TCP). */
  count(): number
  close(): Promise<void>
}

/** A UDP port that receives and never answers: what a dropping firewall looks like from the desktop. */
export async function silentUdp(): Promise<Listener> {
  const socket = createSocket('udp4')
  let count = 0
  socket.on('message', () => count++)
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    port: socket.address().port,
    count: () => count,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
}

/** A TCP port that accepts and never says a word. */
export async function silentTcp(): Promise<Listener> {
  const sockets = new Set<Socket>()
  let count = 0
  const server = createServer((socket) => {
    count++
    sockets.add(socket)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    count: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
