/**
 * Several proxy processes on the same ports. Node relays a UDP datagram in ~10 µs of CPU, so one process
 * tops out below one core; with SO_REUSEPORT the kernel hashes every client 4-tuple to one worker's
 * socket, which keeps each allocation (and its relay socket) in one process, and TCP connections are
 * spread the same way. The primary loads the certificate once (one fingerprint for all), resolves free
 * ports, forks the workers, restarts one that dies, and shows their summed counters (docs/proxy.md §7).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import type { ProxyMetrics, ProxyMetricsSnapshot } from '../metrics'
import type { CertMaterial } from '../edge443/tlsCert'
import type { ProxyServerConfig } from '../config'
import { loadProxyCert } from '../wiring'
import { sumSnapshots } from './sumSnapshots'
import type { FromWorker, ToWorker } from './workerProtocol'

// From source (tsx, the test runner) the worker is worker.ts under tsx's loader. Compiled by `npm run build`
// (scripts/buildNode.ts), this module is a file in out/node/ beside the worker's bundle, proxy-worker.js,
// and tsx (a devDependency) may not be installed at all.
const FROM_SOURCE = import.meta.url.endsWith('.ts')
const WORKER_ENTRY = fileURLToPath(
  new URL(FROM_SOURCE ? './worker.ts' : './proxy-worker.js', import.meta.url),
)
const WORKER_EXEC_ARGV = FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : ['--enable-source-maps']
const START_TIMEOUT_MS = 30_000
const RESTART_DELAY_MS = 1000
const DRAIN_BUDGET_MS = 10_000

interface Worker {
  id: number
  child: ChildProcess
  snapshot?: ProxyMetricsSnapshot
  health?: { ok: boolean; details: Record<string, unknown> }
}

export class ProxyWorkerPool {
  private readonly workers = new Map<number, Worker>()
  private stopping = false

  private constructor(
    private readonly config: ProxyServerConfig,
    private readonly cert: CertMaterial,
    private readonly logger: Logger,
    private readonly logLevel: string,
  ) {}

  get tlsFingerprint(): string {
    return this.cert.fingerprintSha256
  }

  get tlsCertificatePem(): string {
    return this.cert.cert
  }

  static async start(
    config: ProxyServerConfig,
    deps: { logger: Logger; metrics: ProxyMetrics; logLevel?: string },
    count: number,
  ): Promise<ProxyWorkerPool> {
    const cert = await loadProxyCert(config)
    if (cert.generated) {
      deps.logger.warn(
        { fingerprintSha256: cert.fingerprintSha256 },
        'no TLS certificate configured: generated a self-signed one; clients must pin this fingerprint',
      )
    }
    const resolved = await resolvePorts(config)
    const pool = new ProxyWorkerPool(resolved, cert, deps.logger, deps.logLevel ?? deps.logger.level)
    deps.metrics.onCollect(() => deps.metrics.load(pool.totals()))
    try {
      await Promise.all(Array.from({ length: count }, (_, i) => pool.spawn(i + 1)))
    } catch (err) {
      await pool.close()
      throw err
    }
    deps.logger.info({ workers: count, ...pool.addresses() }, 'proxy workers listening')
    return pool
  }

  addresses(): { udp: number[]; tcp: number } {
    return { udp: [...this.config.proxy.ports.udp], tcp: this.config.proxy.ports.tcp }
  }

  /** Healthy when every worker is up and says so. */
  health(): { ok: boolean; details: Record<string, unknown> } {
    const workers = [...this.workers.values()].map((w) => ({
      id: w.id,
      pid: w.child.pid,
      ...(w.health ?? { ok: false }),
    }))
    return { ok: !this.stopping && workers.length > 0 && workers.every((w) => w.ok), details: { workers } }
  }

  private totals(): ProxyMetricsSnapshot {
    return sumSnapshots([...this.workers.values()].flatMap((w) => (w.snapshot ? [w.snapshot] : [])))
  }

  private spawn(id: number): Promise<void> {
    const child = fork(WORKER_ENTRY, [], {
      execArgv: WORKER_EXEC_ARGV,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    const worker: Worker = { id, child }
    this.workers.set(id, worker)
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`proxy worker ${id} did not start`)), START_TIMEOUT_MS)
      child.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            clearTimeout(timer)
            resolve()
            break
          case 'failed':
            clearTimeout(timer)
            reject(new Error(`proxy worker ${id}: ${message.message}`))
            break
          case 'report':
            worker.snapshot = message.snapshot
            worker.health = message.health
            break
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`proxy worker ${id} exited (${code ?? signal})`))
        this.onExit(worker, code, signal)
      })
    })
    const start: ToWorker = {
      type: 'start',
      id,
      config: this.config,
      cert: this.cert,
      logLevel: this.logLevel,
    }
    child.send(start)
    return ready
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.workers.get(worker.id) !== worker) return
    this.workers.delete(worker.id)
    if (this.stopping) return
    // Its allocations are gone; clients re-allocate. The kernel rehashes flows over the sockets left.
    this.logger.error({ worker: worker.id, code, signal }, 'proxy worker died; restarting')
    setTimeout(() => {
      if (!this.stopping)
        this.spawn(worker.id).catch((err: unknown) => this.logger.error({ err }, 'restart failed'))
    }, RESTART_DELAY_MS).unref()
  }

  /** Every worker drains (signaling closed with 1001, allocations given the budget), then exits. */
  async drain(budgetMs = DRAIN_BUDGET_MS): Promise<void> {
    this.stopping = true
    await this.stopAll({ type: 'drain', budgetMs }, budgetMs + 5000)
  }

  async close(): Promise<void> {
    this.stopping = true
    await this.stopAll({ type: 'drain', budgetMs: 0 }, 5000)
  }

  private async stopAll(message: ToWorker, killAfterMs: number): Promise<void> {
    await Promise.all(
      [...this.workers.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve()
            const timer = setTimeout(() => w.child.kill('SIGKILL'), killAfterMs)
            w.child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            if (w.child.connected) w.child.send(message)
            else w.child.kill('SIGTERM')
          }),
      ),
    )
    this.workers.clear()
  }
}

/** Workers must share fixed ports: a configured 0 (tests) becomes a free port chosen here. */
async function resolvePorts(config: ProxyServerConfig): Promise<ProxyServerConfig> {
  const p = config.proxy
  const udp: number[] = []
  for (const port of p.ports.udp) udp.push(port === 0 ? await freeUdpPort(p.listenHost) : port)
  const tcp = p.ports.tcp === 0 ? await freeTcpPort(p.listenHost) : p.ports.tcp
  return { ...config, proxy: { ...p, ports: { ...p.ports, udp, tcp } } }
}

function freeUdpPort(host: string): Promise<number> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, host, () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

function freeTcpPort(host: string): Promise<number> {
  const server = createServer()
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
