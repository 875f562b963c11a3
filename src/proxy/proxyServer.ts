import type { Logger } from 'pino'
import type { ChannelPlacement } from '../shared/cluster'
import { createHttpApp } from './api/httpApp'
import { createSignalRelay, type SignalRelay } from './api/signalRelay'
import type { ProxyServerConfig } from './config'
import { createPort443Listener, type Port443Listener } from './edge443/port443'
import type { CertMaterial } from './edge443/tlsCert'
import type { ProxyMetrics } from './metrics'
import type { NativeCounters } from './turn/node/fastPathAddon'
import { TurnRuntime } from './turn/node/turnRuntime'
import {
  collectConnections,
  httpAppOptions,
  port443Options,
  proxyCert,
  sessionRoute,
  signalRelayOptions,
  turnRuntimeOptions,
} from './wiring'

export interface ProxyServerDeps {
  logger: Logger
  metrics: ProxyMetrics
}

export interface ProxyServerOptions {
  /** Listen with SO_REUSEPORT next to other worker processes (src/proxy/workers/workerPool.ts). */
  reusePort?: boolean
  /** A certificate loaded (or generated) once for all workers, so they present the same fingerprint. */
  cert?: CertMaterial
  /** The TURN clock (tests move it to reach RFC lifetimes); Date.now by default. */
  now?: () => number
  /**
   * The region's conference nodes (docs/scaling.md): sessions place the channel and signaling goes to its
   * node (route tickets, docs/proxy.md). Without it, signaling goes to `proxy.signal.upstream`.
   */
  placement?: ChannelPlacement
}

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
    config: ProxyServerConfig,
    deps: ProxyServerDeps,
    options: ProxyServerOptions = {},
  ): Promise<ProxyServer> {
    const p = config.proxy
    const { logger, metrics } = deps
    const cert = await proxyCert(config, options.cert, logger)
    const runtime = new TurnRuntime(turnRuntimeOptions(p, config.apps, logger, metrics, options.now))
    const started: { close(): Promise<void> }[] = [runtime]
    try {
      const udpPorts: number[] = []
      for (const port of p.ports.udp)
        udpPorts.push(await runtime.listenUdp(p.listenHost, port, options.reusePort))

      // The session answer names the ports clients reach; with port 0 (tests) they are known after binding.
      const ports = { udp: udpPorts[0]!, udpAlt: udpPorts[1] ?? udpPorts[0]!, tcp: p.ports.tcp }
      const session = sessionRoute(config, ports, cert, metrics, options.placement)
      const signal = createSignalRelay(signalRelayOptions(config, metrics, options.placement))
      started.push(signal)
      const http = createHttpApp(httpAppOptions(session, signal, metrics))
      const tls = { cert: cert.cert, key: cert.key }
      const tcp = await createPort443Listener(
        port443Options(p, { tls, http, runtime, reusePort: options.reusePort }, metrics),
      )
      ports.tcp = tcp.port
      metrics.onCollect(() => collectConnections(metrics, runtime, tcp, signal))
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
