import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exited, killOnExit, stopChild } from './process'
import { freePort, requireTool, sleep } from './tools'

/**
 * A real Debian `redis-server` for the cluster tests (docs/scaling.md): loopback only, no persistence (no RDB,
 * no AOF), so a restart comes back empty exactly like a Redis that lost its memory.
 */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, what `cluster.redis` takes. */
  url: string
  host: string
  port: number
  /** The current process (a restart changes it). */
  readonly pid: number
  /** SIGTERM, SIGKILL after 3 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>
  /**
   * Stops the server (if running) and starts an empty one on the same port; resolves when it answers PING.
   * Also starts a stopped one again (a Redis that was down for a while).
   */
  restart(): Promise<void>
}

export interface RedisServerOptions {
  /** Default: a free loopback TCP port (with `spawnIn`: 6379). */
  port?: number
  /** How long to wait for PONG (with `spawnIn`: for the ready line). Default 10 s. */
  startTimeoutMs?: number
  /**
   * Runs redis-server in another network namespace (a firewall lab's `srv`, e2e/lab/lab.ts), bound to
   * `host` there. This process cannot reach that address, so readiness is Redis's own "Ready to accept
   * connections" line instead of a PING; the namespace is the test's own, so no other Redis holds the port.
   */
  spawnIn?: RedisSpawner
}

export interface RedisSpawner {
  /** The address to bind, inside the namespace. */
  host: string
  /** Starts `binary args` there in its own process group (stdout and stderr piped), e.g. `Lab.spawn`. */
  spawn(binary: string, args: readonly string[]): ChildProcess
}

/** The free port was taken between the check and redis-server's bind (parallel test files, other tools). */
class PortTaken extends Error {}

/**
 * Starts redis-server on a free loopback port and waits until it answers PING — itself, by its
 * `process_id`, not another Redis that took the port first (then it tries another port).
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (options.spawnIn !== undefined) return startOn(options.port ?? 6379, options)
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort('tcp', '127.0.0.1'))
    try {
      return await startOn(port, options)
    } catch (err) {
      if (!(err instanceof PortTaken) || options.port !== undefined || attempt >= 5) throw err
    }
  }
}

async function startOn(port: number, options: RedisServerOptions): Promise<RedisServer> {
  const binary = requireTool('redis-server')
  const host = options.spawnIn?.host ?? '127.0.0.1'
  const argsIn = (dir: string): string[] => [
    '--port',
    String(port),
    '--bind',
    host,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--logfile',
    '',
    // Without a password Redis answers only loopback clients; in a lab namespace the clients (nodes, the
    // proxy) are on its addresses, and the namespace is reachable from nowhere else.
    ...(options.spawnIn === undefined ? [] : ['--protected-mode', 'no']),
  ]
  let child: ChildProcess | undefined
  let dir: string | undefined
  let output = ''

  const halt = async (): Promise<void> => {
    if (child !== undefined) await stopChild(child)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  }
  const launch = async (): Promise<void> => {
    output = ''
    // Its working directory: redis-server may write there (it never should with --save ''), never the repo's.
    const workDir = await mkdtemp(join(tmpdir(), 'pinhole-redis-'))
    dir = workDir
    // detached: its own process group, so stopChild reaches it by PID even if the test crashes mid-way.
    const started =
      options.spawnIn?.spawn(binary, argsIn(workDir)) ??
      spawn(binary, argsIn(workDir), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    killOnExit(started, () => rmSync(workDir, { recursive: true, force: true }))
    const collect = (chunk: Buffer): void => {
      if (output.length < 20_000) output += chunk.toString()
    }
    started.stdout?.on('data', collect)
    started.stderr?.on('data', collect)
    child = started
    const timeoutMs = options.startTimeoutMs ?? 10_000
    try {
      if (options.spawnIn === undefined) await waitForPong(started, host, port, timeoutMs)
      else await waitForReadyLine(started, () => output, timeoutMs)
    } catch (err) {
      await halt()
      if (output.includes('Address already in use')) throw new PortTaken(`port ${port} is taken`)
      throw new Error(
        `redis-server did not start on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}\n` +
          `output: ${output.slice(-2000)}`,
        { cause: err },
      )
    }
  }

  await launch()
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    get pid(): number {
      if (child?.pid === undefined) throw new Error('internal: redis-server has no pid')
      return child.pid
    },
    stop: halt,
    restart: async () => {
      await halt()
      await launch()
    },
  }
}

/** Resolves when a RESP `PING` on host:port gets `+PONG`; rejects if the process exits or the time runs out. */
async function waitForPong(
  child: ChildProcess,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let spawnError: Error | undefined
  child.once('error', (err) => (spawnError = err))
  let gone = false
  void exited(child).then(() => (gone = true))
  while (Date.now() < deadline) {
    if (spawnError !== undefined) throw spawnError
    if (gone) throw new Error(`redis-server exited (code ${child.exitCode}, ${child.signalCode})`)
    if ((await answeringPid(host, port)) === child.pid) return
    await sleep(30)
  }
  throw new Error(`no PONG within ${timeoutMs} ms`)
}

/** Resolves once redis-server has logged that it accepts connections (it binds before saying so). */
async function waitForReadyLine(child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let gone = false
  void exited(child).then(() => (gone = true))
  while (Date.now() < deadline) {
    if (output().includes('Ready to accept connections')) return
    if (gone) throw new Error(`redis-server exited (code ${child.exitCode}, ${child.signalCode})`)
    await sleep(30)
  }
  throw new Error(`no ready line within ${timeoutMs} ms`)
}

/** The `process_id` of the Redis answering on host:port (INFO server), or undefined. */
function answeringPid(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let reply = ''
    const done = (pid: number | undefined): void => {
      socket.destroy()
      resolve(pid)
    }
    socket.setTimeout(1000, () => done(undefined))
    socket.once('error', () => done(undefined))
    socket.once('connect', () => socket.write('INFO server\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      const found = /process_id:(\d+)\r\n/.exec(reply)
      if (found) done(Number(found[1]))
      else if (reply.startsWith('-')) done(undefined)
    })
  })
}

/** One PING over a fresh connection: true on `+PONG`, false on refusal, error or 1 s of silence. */
export function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}
