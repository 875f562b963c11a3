/**
 * Test-only: a real `pinhole-server start` process (from source, through tsx) — a proxy, a conference node
 * or both, whatever the config says — with its config (and any certificate files) written to a temporary
 * directory and its JSON log lines collected (its workers' lines too: they share its stdout). Real
 * processes, so that a test can SIGTERM a node (drain) or SIGKILL it like a machine that dies. The config is
 * validated first, so a mistake names its field instead of showing up in the child's stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig, type ServerConfigInput } from '../../src/server/config'
import { exited, killGroup, killOnExit, stopChild } from './process'
import { waitFor } from './tools'

export type LogLine = Record<string, unknown> & { msg?: string; pid?: number }

export interface ServerProcess {
  child: ChildProcess
  /** The server's own pid (the parent of its workers, if it has any). */
  pid: number
  lines: LogLine[]
  stderr(): string
  /** Everything it wrote (stderr, then the log lines), for failure messages. */
  log(): string
  /** The first line for which `match` holds, waiting for it. */
  line(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>
  /** Resolves with the exit code (null when killed by a signal). */
  exit(): Promise<number | null>
  /** SIGTERM (SIGKILL after graceMs) to the process group; idempotent. */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL to its process group; resolves once it is gone: no drain, no goodbye. */
  kill(): Promise<void>
}

/** A file written beside the config (certificates, keys), named by the config through `dir`. */
export interface ServerFile {
  name: string
  content: string
}

export interface ServerProcessOptions {
  /** Names the process in errors (`proxy-127.0.0.2`). */
  label?: string
  files?: readonly ServerFile[]
  startTimeoutMs?: number
  env?: Record<string, string>
  /**
   * Starts the command somewhere else than this process's network namespace (a lab namespace:
   * `Lab.spawn`), in its own process group with stdout and stderr piped, in the repository's directory.
   */
  spawn?: (cmd: string, args: readonly string[], env: NodeJS.ProcessEnv) => ChildProcess
}

/**
 * Starts `pinhole-server start` with `config` (or `config(dir)`, given the directory its files are written
 * to) and waits for its `started` line.
 */
export async function startServerProcess(
  config: ServerConfigInput | ((dir: string) => ServerConfigInput),
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const label = options.label ?? 'pinhole-server'
  const dir = mkdtempSync(join(tmpdir(), `pinhole-${label.replace(/[^\w.-]/g, '_')}-`))
  const input = typeof config === 'function' ? config(dir) : config
  parseConfig(input)
  for (const f of options.files ?? []) writeFileSync(join(dir, f.name), f.content, { mode: 0o600 })
  const file = join(dir, 'server.json')
  writeFileSync(file, JSON.stringify(input))
  const args = ['--import', 'tsx', 'src/server/cli.ts', 'start', '--config', file]
  const env = { ...process.env, ...options.env }
  const child =
    options.spawn?.(process.execPath, args, env) ??
    spawn(process.execPath, args, {
      cwd: process.cwd(),
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  killOnExit(child, () => rmSync(dir, { recursive: true, force: true }))
  const lines: LogLine[] = []
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const part of parts) {
      if (!part.startsWith('{')) continue
      try {
        lines.push(JSON.parse(part) as LogLine)
      } catch {
        // a line cut by a dying process
      }
    }
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exit = exited(child).then(() => {
    rmSync(dir, { recursive: true, force: true })
    return child.exitCode
  })
  const server: ServerProcess = {
    child,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    log: () => `${stderr}${lines.map((l) => JSON.stringify(l)).join('\n')}`,
    async line(match, what, timeoutMs = 30_000) {
      await waitFor(
        () => {
          if (lines.some(match)) return true
          if (child.exitCode !== null || child.signalCode !== null) {
            const logged = lines.filter((l) => Number(l['level']) >= 50).map((l) => JSON.stringify(l))
            const code = child.exitCode ?? child.signalCode
            throw new Error(`${label} exited (${code}) before ${what}: ${stderr}${logged.join('\n')}`)
          }
          return false
        },
        what,
        timeoutMs,
      )
      return lines.find(match)!
    },
    exit: () => exit,
    stop: (graceMs = 15_000) => stopChild(child, graceMs),
    async kill() {
      killGroup(child, 'SIGKILL')
      await exit
    },
  }
  await server.line(
    (l) => l.msg === 'started' && l.pid === child.pid,
    'the started line',
    options.startTimeoutMs ?? 60_000,
  )
  return server
}
