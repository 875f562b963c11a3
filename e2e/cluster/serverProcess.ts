/**
 * Test-only: a real `pinhole-server start` process (from source, through tsx) with a config written to a
 * temporary file, its JSON log lines collected (its workers' lines too: they share its stdout). Real
 * processes, so that a test can SIGTERM or SIGKILL a conference node.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exited, killOnExit, stopChild } from '../support/process'
import { waitFor } from '../support/tools'

export type LogLine = Record<string, unknown> & { msg?: string; pid?: number }

export interface ServerProcess {
  child: ChildProcess
  /** The server's own pid (the parent of its workers, if it has any). */
  pid: number
  lines: LogLine[]
  stderr(): string
  /** The first line for which `match` holds, waiting for it. */
  line(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>
  /** Resolves with the exit code (null when killed by a signal). */
  exit(): Promise<number | null>
  /** SIGTERM (SIGKILL after graceMs) to the process group; idempotent. */
  stop(graceMs?: number): Promise<void>
}

/** Starts `pinhole-server start` with `config` and waits for its `started` line. */
export async function startServerProcess(
  config: Record<string, unknown>,
  options: { startTimeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-node-'))
  const file = join(dir, 'server.json')
  writeFileSync(file, JSON.stringify(config))
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/cli.ts', 'start', '--config', file], {
    cwd: process.cwd(),
    env: { ...process.env, ...options.env },
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
    async line(match, what, timeoutMs = 30_000) {
      await waitFor(
        () => {
          if (lines.some(match)) return true
          if (child.exitCode !== null || child.signalCode !== null) {
            const logged = lines.filter((l) => Number(l['level']) >= 50).map((l) => JSON.stringify(l))
            const code = child.exitCode ?? child.signalCode
            throw new Error(`server exited (${code}) before ${what}: ${stderr}${logged.join('\n')}`)
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
  }
  await server.line(
    (l) => l.msg === 'started' && l.pid === child.pid,
    'the started line',
    options.startTimeoutMs ?? 60_000,
  )
  return server
}
