/**
 * `sfu.workers: N` (docs/scaling.md "Workers"): N conference nodes on one machine. One werift SFU is one
 * thread, so a machine's other cores carry media only as other processes: the server command forks itself
 * N times (`pinhole-server start` with the same config), each worker with its own signaling port
 * (`sfu.port + i`, or OS-chosen with 0), its own slice of `sfu.rtcPortRange` and its own cluster node id,
 * so each registers in Redis as a node of its own and placement spreads channels over them. The parent
 * keeps the proxy (when the config has one) and the admin listener, which shows every worker's health and
 * series (workerAdmin.ts); it forwards a drain to every worker and exits when they have. It restarts
 * nothing: a worker that dies is logged and /healthz turns 503, and when none is left the parent exits 1
 * for the supervisor (systemd) to restart it.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import type { Health } from './admin'
import type { MetricFamily } from './exposition'
import { workerLoad, workerMetrics, workerUpFamily, type WorkerLoad } from './workerAdmin'

// From source (tsx, the test runner) the worker is cli.ts under tsx's loader; compiled by `npm run build`
// this module is bundled into out/node/pinhole-server.js, which is then the worker's entry too.
const FROM_SOURCE = import.meta.url.endsWith('.ts')
const CLI_ENTRY = fileURLToPath(new URL(FROM_SOURCE ? './cli.ts' : './pinhole-server.js', import.meta.url))
const EXEC_ARGV = FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : ['--enable-source-maps']

/** Set in a worker's environment: its number, 1..N. */
export const SFU_WORKER_ENV = 'PINHOLE_SFU_WORKER'
/** Loading werift and joining the cluster may take a while on a busy machine. */
const START_TIMEOUT_MS = 60_000
/** Past the workers' own drain deadline, the parent stops waiting. */
const DRAIN_MARGIN_MS = 15_000
const CLOSE_KILL_AFTER_MS = 5000

/** What a worker tells the parent over IPC. */
type FromWorker = { type: 'started'; signal: string; admin: number; node: string }
/** What the parent tells a worker. */
type ToWorker = { type: 'drain' }

/** `sfu.workers`, or its default: one per core with a cluster, else 1 (no Redis, no other node). */
export function sfuWorkerCount(config: {
  sfu: { enabled: boolean; workers?: number | undefined }
  cluster?: unknown
}): number {
  return config.sfu.workers ?? (config.cluster === undefined ? 1 : availableParallelism())
}

/** What the config schema refuses about the workers: each one needs a cluster, a port and two media ports. */
export function workerIssues(config: {
  sfu: {
    enabled: boolean
    workers?: number | undefined
    port: number
    rtcPortRange?: readonly [number, number]
  }
  cluster?: unknown
}): { path: string[]; message: string }[] {
  const count = sfuWorkerCount(config)
  if (!config.sfu.enabled || count <= 1) return []
  if (config.cluster === undefined) {
    const message =
      'expected 1 without a cluster section: each worker is a conference node of its own, and only ' +
      'cluster placement sends channels to nodes'
    return [{ path: ['sfu', 'workers'], message }]
  }
  const issues: { path: string[]; message: string }[] = []
  const { port, rtcPortRange } = config.sfu
  const why = config.sfu.workers === undefined ? ` (sfu.workers defaults to one per core: ${count})` : ''
  if (port !== 0 && port + count - 1 > 65535) {
    const message = `expected at most ${65536 - count}: worker i listens on sfu.port + i${why}`
    issues.push({ path: ['sfu', 'port'], message })
  }
  if (rtcPortRange && rtcPortRange[1] - rtcPortRange[0] + 1 < 2 * count) {
    const message = `expected at least ${2 * count} ports: each of ${count} workers takes an equal slice${why}`
    issues.push({ path: ['sfu', 'rtcPortRange'], message })
  }
  return issues
}

/** What the worker's part of the config needs. */
export interface WorkerConfigFields {
  sfu: { port: number; rtcPortRange?: readonly [number, number] | undefined; drainTimeoutMs: number }
  proxy?: unknown
  cluster?: { nodeId?: string | undefined } | undefined
}

/** Worker `index` (0-based) of `count`'s slice of the media port range, both ends included. */
export function rtcPortSlice(
  range: readonly [number, number],
  index: number,
  count: number,
): [number, number] {
  const per = Math.floor((range[1] - range[0] + 1) / count)
  const first = range[0] + index * per
  return [first, first + per - 1]
}

/**
 * The environment overrides (`PINHOLE__…`, applied over the config file) that make worker `index` a node
 * of its own: one worker's worth of everything, no proxy, an OS-chosen admin port on loopback (the parent
 * reads it and serves what it reads on its own admin listener: workerAdmin.ts).
 */
export function workerOverrides(
  config: WorkerConfigFields,
  index: number,
  count: number,
): Record<string, string> {
  const { sfu } = config
  const env: Record<string, string> = {
    [SFU_WORKER_ENV]: String(index + 1),
    PINHOLE__sfu__workers: '1',
    PINHOLE__sfu__port: String(sfu.port === 0 ? 0 : sfu.port + index),
    PINHOLE__admin__host: '127.0.0.1',
    PINHOLE__admin__port: '0',
  }
  if (sfu.rtcPortRange) {
    env.PINHOLE__sfu__rtcPortRange = JSON.stringify(rtcPortSlice(sfu.rtcPortRange, index, count))
  }
  if (config.proxy !== undefined) env.PINHOLE__proxy__enabled = 'false'
  const nodeId = config.cluster?.nodeId
  if (nodeId !== undefined) env.PINHOLE__cluster__nodeId = JSON.stringify(`${nodeId}-${index + 1}`)
  return env
}

interface Worker {
  index: number
  child: ChildProcess
  started?: Omit<FromWorker, 'type'>
}

export interface SfuWorkerPoolOptions {
  count: number
  config: WorkerConfigFields
  /** The config file the parent read (the workers read it too), if any. */
  file: string | undefined
  logger: Logger
  /** Every worker is gone while the parent was not stopping: it exits with this code. */
  allGone: (code: number) => void
}

export class SfuWorkerPool {
  private readonly workers: Worker[] = []
  private stopping = false

  private constructor(private readonly options: SfuWorkerPoolOptions) {}

  static async start(options: SfuWorkerPoolOptions): Promise<SfuWorkerPool> {
    const pool = new SfuWorkerPool(options)
    try {
      await Promise.all(Array.from({ length: options.count }, (_, i) => pool.spawn(i)))
    } catch (err) {
      await pool.close()
      throw err
    }
    return pool
  }

  /** Healthy while every worker runs and says it is; the details name each one with its state and load. */
  async health(): Promise<Health> {
    const workers = await Promise.all(
      this.workers.map(async (w) => {
        const running = isRunning(w.child)
        const load: WorkerLoad =
          running && w.started ? await workerLoad(w.started) : { state: running ? 'not answering' : 'down' }
        return { worker: w.index + 1, pid: w.child.pid, running, ...w.started, ...load }
      }),
    )
    return { ok: !this.stopping && workers.every((w) => w.state === 'up'), details: { workers } }
  }

  /** Every running worker's series under its `node` label, and which answered (pinhole_sfu_worker_up). */
  async metrics(): Promise<MetricFamily[]> {
    const read = await Promise.all(
      this.workers.map(async (w) => ({
        node: w.started?.node ?? `worker-${w.index + 1}`,
        families: isRunning(w.child) && w.started ? await workerMetrics(w.started) : undefined,
      })),
    )
    const up = workerUpFamily(read.map((r) => ({ node: r.node, up: r.families !== undefined })))
    return [up, ...read.flatMap((r) => r.families ?? [])]
  }

  describe(): Record<string, unknown> {
    return { workers: this.workers.map((w) => ({ worker: w.index + 1, pid: w.child.pid, ...w.started })) }
  }

  /** Every worker drains (SIGTERM's path: the node leaves placement, its calls are moved) and exits. */
  async drain(): Promise<void> {
    this.stopping = true
    const { drainTimeoutMs } = this.options.config.sfu
    const codes = await this.stopAll({ type: 'drain' }, drainTimeoutMs + DRAIN_MARGIN_MS)
    const failed = codes.filter((c) => c !== 0)
    if (failed.length > 0) throw new Error(`${failed.length} conference worker(s) did not drain cleanly`)
  }

  async close(): Promise<void> {
    this.stopping = true
    await this.stopAll(undefined, CLOSE_KILL_AFTER_MS)
  }

  private spawn(index: number): Promise<void> {
    const { config, file, count } = this.options
    const args = ['start', ...(file === undefined ? [] : ['--config', file])]
    const child = fork(CLI_ENTRY, args, {
      execArgv: EXEC_ARGV,
      env: { ...process.env, ...workerOverrides(config, index, count) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const worker: Worker = { index, child }
    this.workers.push(worker)
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`conference worker ${index + 1} did not start in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      )
      child.on('message', (message: FromWorker) => {
        if (message?.type !== 'started') return
        clearTimeout(timer)
        worker.started = { signal: message.signal, admin: message.admin, node: message.node }
        resolve()
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`conference worker ${index + 1} exited (${code ?? signal}) before it started`))
        this.onExit(worker, code, signal)
      })
    })
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return
    const { logger, allGone } = this.options
    // Not restarted here: its calls have moved on (their engines rejoin elsewhere), and a supervisor that
    // watches /healthz decides when to restart the whole unit.
    logger.error({ worker: worker.index + 1, pid: worker.child.pid, code, signal }, 'conference worker died')
    if (this.workers.every((w) => !isRunning(w.child))) {
      logger.fatal('every conference worker is gone; exiting for the supervisor to restart the server')
      allGone(1)
    }
  }

  /** Resolves with each worker's exit code (null: killed). */
  private async stopAll(message: ToWorker | undefined, killAfterMs: number): Promise<(number | null)[]> {
    return Promise.all(
      this.workers.map(
        (w) =>
          new Promise<number | null>((resolve) => {
            if (!isRunning(w.child)) return resolve(w.child.exitCode)
            const timer = setTimeout(() => w.child.kill('SIGKILL'), killAfterMs)
            w.child.once('exit', (code) => {
              clearTimeout(timer)
              resolve(code)
            })
            if (message && w.child.connected) w.child.send(message)
            else w.child.kill('SIGTERM')
          }),
      ),
    )
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** In a worker: IPC to the parent, or undefined in a server started on its own. */
export interface ParentLink {
  /** Tells the parent the worker is up: its signaling URL, admin port and cluster node id. */
  started(up: Omit<FromWorker, 'type'>): void
  /** `drain` when the parent asks for one or goes away (no orphan nodes). */
  requests: Pick<EventEmitter, 'on' | 'off'>
}

export function parentLink(env: Record<string, string | undefined>): ParentLink | undefined {
  if (env[SFU_WORKER_ENV] === undefined || process.send === undefined) return undefined
  const requests = new EventEmitter()
  process.on('message', (message: ToWorker) => {
    if (message?.type === 'drain') requests.emit('drain')
  })
  process.once('disconnect', () => requests.emit('drain'))
  return {
    // A parent gone before the worker is up (killed, or its own SIGTERM) must not crash the worker with
    // ERR_IPC_CHANNEL_CLOSED: its 'disconnect' has already asked for a drain.
    started: (up) => {
      if (!process.connected) return
      process.send?.({ type: 'started', ...up } satisfies FromWorker, undefined, {}, () => undefined)
    },
    requests,
  }
}
