import { createHmac } from 'node:crypto'
import type { Logger } from 'pino'
import { SIGNAL_PATH } from '../shared/proxySession'
import type { ProxyServerConfig } from './config'
import type { NativeCounters } from './turn/node/fastPathAddon'
import type { ProxyMetrics } from './metrics'
import { HttpError, createHttpApp, type Route } from './api/httpApp'
import { createPort443Listener, type Port443Listener } from './edge443/port443'
import { createSessionApiRoute } from './api/sessionApi'
import { createSignalRelay, type SignalRelay } from './api/signalRelay'
import { loadOrGenerateCert, type CertMaterial } from './edge443/tlsCert'
import { createPeerPolicy } from './turn/core/peerPolicy'
import { TurnRuntime } from './turn/node/turnRuntime'

/** What the proxy reads of the server config: its own section and the apps' join-token secrets. */
export type ProxyConfig = ProxyServerConfig

export interface ProxyServerDeps {
  logger: Logger
  metrics: ProxyMetrics
}

export interface ProxyServerOptions {
  /** Listen with SO_REUSEPORT next to other worker processes (src/proxy/workers.ts). */
  reusePort?: boolean
  /** A certificate loaded (or generated) once for all workers, so they present the same fingerprint. */
  cert?: CertMaterial
  /** The TURN clock (tests move it to reach RFC lifetimes); Date.now by default. */
  now?: () => number
}

/** The nonce key comes from the TURN secret: every worker (and a restarted proxy) accepts the same nonces. */
export function nonceKey(turnSecret: string): Buffer {
  return createHmac('sha256', turnSecret).update('pinhole/turn-nonce').digest()
}

export const SOFTWARE = 'pinhole-proxy'

/** How long drain() waits for signaling clients and allocations to go before closing anyway. */
const DRAIN_BUDGET_MS = 10_000

/**
 * The cloud proxy: TURN on the UDP ports, and TCP 443 carrying TURN over TCP/TLS, the session API and the
 * signaling relay. Owns everything it starts; close() stops all of it (docs/proxy.md).
 */
export class ProxyServer {
  private draining = false

  private constructor(
    readonly tlsFingerprint: string,
    /** The certificate clients pin (public; the key never leaves this object's listeners). */
    readonly tlsCertificatePem: string,
    private readonly runtime: TurnRuntime,
    private readonly udpPorts: number[],
    private readonly tcp: Port443Listener,
    private readonly signal: SignalRelay,
    private readonly logger: Logger,
  ) {}

  static async start(
    config: ProxyConfig,
    deps: ProxyServerDeps,
    options: ProxyServerOptions = {},
  ): Promise<ProxyServer> {
    const p = config.proxy
    const { logger, metrics } = deps
    const cert = options.cert ?? (await loadProxyCert(config))
    if (cert.generated && !options.cert) {
      logger.warn(
        { fingerprintSha256: cert.fingerprintSha256 },
        'no TLS certificate configured: generated a self-signed one; clients must pin this fingerprint',
      )
    }

    const runtime = new TurnRuntime({
      core: {
        realm: p.realm,
        secret: p.turnSecret,
        software: SOFTWARE,
        nonceTtlMs: p.nonceTtlSeconds * 1000,
        defaultLifetimeSeconds: p.allocations.defaultLifetimeSeconds,
        maxLifetimeSeconds: p.allocations.maxLifetimeSeconds,
        perUserQuota: p.allocations.perUser,
        totalQuota: p.allocations.total,
        bandwidthBytesPerSecond: p.allocations.bandwidthBytesPerSecond,
        unauthenticatedPerSecond: p.rateLimit.unauthenticatedPerSecond,
        unauthenticatedBurst: p.rateLimit.burst,
        allocationsPerSecond: p.rateLimit.allocationsPerSecond,
        offerPasswordAlgorithms: false,
        nonceSecret: nonceKey(p.turnSecret),
        peerPolicy: createPeerPolicy({ allow: p.peers.allow, allowLoopback: p.peers.allowLoopback }),
      },
      relay: { listenHost: p.relay.listenHost, address: p.relay.address, portRange: p.relay.portRange },
      maxFrameBytes: p.limits.maxFrameBytes,
      tcpIdleMs: p.timeouts.tcpIdleMs,
      frameStallMs: p.timeouts.firstByteMs,
      logger,
      stats: metrics,
      onStreamClosed: (reason, transport) => metrics.malformed(transport, reason),
      fastPath: p.fastPath,
      now: options.now,
    })

    const started: { close(): Promise<void> }[] = [runtime]
    try {
      const udpPorts: number[] = []
      for (const port of p.ports.udp)
        udpPorts.push(await runtime.listenUdp(p.listenHost, port, options.reusePort))

      // The session answer names the ports clients reach; with port 0 (tests) they are known after binding.
      const ports = { udp: udpPorts[0]!, udpAlt: udpPorts[1] ?? udpPorts[0]!, tcp: p.ports.tcp }
      const session = countingRoute(
        createSessionApiRoute({
          apps: config.apps,
          turnSecret: p.turnSecret,
          publicHost: p.publicAddress,
          region: p.region,
          ports,
          tlsFingerprintSha256: cert.fingerprintSha256,
          credentialTtlSeconds: p.credentialTtlSeconds,
          maxBodyBytes: p.limits.maxBodyBytes,
          onSession: () => metrics.sessionIssued(),
        }),
        (code) => metrics.sessionFailed(code),
      )
      const signal = createSignalRelay({
        upstreamUrl: p.signal.upstream,
        joinTimeoutMs: p.signal.joinTimeoutMs,
        unjoinedPerIp: p.signal.unjoinedPerIp,
        onEvent: (event) => {
          metrics.listenerEvent(event)
          if (event === 'signal_open') metrics.signalOpened()
          else if (event === 'signal_closed') metrics.signalClosed()
          else if (event === 'signal_upstream_failed' || event === 'signal_upstream_lost')
            metrics.signalFailed(event)
          else if (event === 'signal_rejected_per_ip') metrics.connectionRefused('signal_unjoined_per_ip')
        },
      })
      started.push(signal)
      const http = createHttpApp({
        routes: [session],
        upgrades: [
          {
            path: SIGNAL_PATH,
            handler: (req, socket, head, auth) => signal.handleUpgrade(req, socket, head, auth),
          },
        ],
        onEvent: (event) => metrics.listenerEvent(event),
      })
      const tcp = await createPort443Listener({
        host: p.listenHost,
        port: p.ports.tcp,
        tls: { cert: cert.cert, key: cert.key },
        http,
        onTurnConnection: (stream, info, auth) => runtime.attachStream(stream, info, auth),
        onEvent: (event) => {
          metrics.listenerEvent(event)
          if (event === 'malformed_first_byte') metrics.malformed('tcp', 'first-byte')
          else if (event === 'tls_malformed_first_byte') metrics.malformed('tls', 'first-byte')
          else if (event === 'tls_handshake_failed') metrics.malformed('tls', 'handshake')
          else if (event === 'http_malformed') metrics.malformed('http', 'request')
          // rejected_max_connections, rejected_unauthenticated_share, rejected_unauthenticated_per_ip
          else if (event.startsWith('rejected_')) metrics.connectionRefused(event.slice('rejected_'.length))
        },
        firstByteTimeoutMs: p.timeouts.firstByteMs,
        tlsHandshakeTimeoutMs: p.timeouts.tlsHandshakeMs,
        httpHeadersTimeoutMs: p.timeouts.httpHeadersMs,
        httpRequestTimeoutMs: p.timeouts.httpRequestMs,
        maxConnections: p.limits.maxConnections,
        unauthenticatedPercent: p.limits.unauthenticatedPercent,
        unauthenticatedPerIp: p.limits.unauthenticatedPerIp,
        reusePort: options.reusePort,
      })
      ports.tcp = tcp.port
      metrics.onCollect(() => {
        // The native fast path counts on its own; its deltas join the sink at each read.
        runtime.flushFastPath()
        const streams = runtime.streamCount()
        metrics.setConnections('tcp', streams.tcp)
        metrics.setConnections('tls', streams.tls)
        metrics.setConnections('tcp443_all', tcp.connections())
        metrics.setConnections('tcp443_unauthenticated', tcp.unauthenticated())
        metrics.setConnections('signal', signal.connections())
      })
      logger.info({ udp: udpPorts, tcp: tcp.port, relay: p.relay.address }, 'proxy listening')
      return new ProxyServer(cert.fingerprintSha256, cert.cert, runtime, udpPorts, tcp, signal, logger)
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.close()))
      throw err
    }
  }

  /** The path UDP relaying takes (docs/proxy.md §8): the native fast path or Node's dgram sockets. */
  get fastPath(): 'native' | 'js' {
    return this.runtime.fastPath
  }

  /** What the native fast path forwarded so far; undefined on the JS path. */
  fastPathCounters(): NativeCounters | undefined {
    return this.runtime.fastPathCounters()
  }

  addresses(): { udp: number[]; tcp: number } {
    return { udp: [...this.udpPorts], tcp: this.tcp.port }
  }

  health(): { ok: boolean; details: Record<string, unknown> } {
    return {
      ok: !this.draining,
      details: {
        draining: this.draining,
        fastPath: this.runtime.fastPath,
        allocations: this.runtime.core.allocationCount(),
        tcpConnections: this.tcp.connections(),
        signalConnections: this.signal.connections(),
      },
    }
  }

  /**
   * Stops taking new work and lets what runs end, within a budget: signaling clients are closed with 1001
   * (they reconnect elsewhere), allocations are given until the budget ends, then everything closes.
   */
  async drain(budgetMs = DRAIN_BUDGET_MS): Promise<void> {
    this.draining = true
    this.logger.info({ allocations: this.runtime.core.allocationCount() }, 'draining')
    await this.signal.close()
    const deadline = Date.now() + budgetMs
    while (this.runtime.core.allocationCount() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    await this.close()
  }

  async close(): Promise<void> {
    this.draining = true
    await this.signal.close()
    await this.tcp.close()
    await this.runtime.close()
  }
}

/** Wraps a route so refusals are counted by their error code. */
function countingRoute(route: Route, onFailure: (code: string) => void): Route {
  return {
    ...route,
    handler: async (req, res) => {
      try {
        await route.handler(req, res)
      } catch (err) {
        if (err instanceof HttpError) onFailure(err.code)
        throw err
      }
    },
  }
}

/** The configured certificate, or a generated self-signed one (docs/proxy.md §4). */
export function loadProxyCert(config: ProxyConfig): Promise<CertMaterial> {
  const p = config.proxy
  return loadOrGenerateCert({
    certFile: p.tls.certFile,
    keyFile: p.tls.keyFile,
    commonName: p.publicAddress,
    altNames: [p.publicAddress],
  })
}
