/**
 * Test-only: one `pinhole-server start --config FILE` as a CHILD PROCESS on loopback (a proxy, a conference
 * server or both, whatever the config says), so a test can SIGKILL it like a machine that dies. The config
 * is validated here first, so a mistake names its field instead of showing up in the child's stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseConfig, type ServerConfigInput } from '../../src/server/config'
import { exited, killGroup, killOnExit, stopChild } from './process'

const REPO = resolve(import.meta.dirname, '../..')

export interface ServerProcess {
  pid: number
  /** What the process wrote (JSON log lines, stderr), for failure messages. */
  log(): string
  /** SIGKILL to its process group; resolves once it is gone: no drain, no goodbye. */
  kill(): Promise<void>
  /** SIGTERM (SIGKILL after a grace period), then its files go. */
  stop(): Promise<void>
}

export interface ServerFile {
  name: string
  content: string
}

/**
 * Writes `files` (certificates, keys) and the config into a fresh directory; `config(dir)` gets that
 * directory to name them. Resolves on the `started` log line, rejects when the process exits or takes
 * longer than `startMs`.
 */
export async function startServerProcess(
  label: string,
  config: (dir: string) => ServerConfigInput,
  files: readonly ServerFile[] = [],
  startMs = 20_000,
): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), `pinhole-${label}-`))
  const input = config(dir)
  parseConfig(input)
  for (const file of files) writeFileSync(join(dir, file.name), file.content, { mode: 0o600 })
  writeFileSync(join(dir, 'server.json'), JSON.stringify(input, null, 2))
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true })
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO, 'bin/pinhole-server.js'), 'start', '--config', join(dir, 'server.json')],
    { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  killOnExit(child, cleanup)
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const started = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log += `${line}\n`
      if (line.includes('"msg":"started"')) resolve()
    })
    child.once('exit', (code, signal) => reject(new Error(`${label} exited (${code ?? signal}): ${log}`)))
  })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${label} did not start within ${startMs} ms: ${log}`)),
      startMs,
    )
  })
  try {
    await Promise.race([started, timeout])
  } catch (err) {
    await stopChild(child, 1000)
    cleanup()
    throw err
  } finally {
    clearTimeout(timer)
  }
  return {
    pid: child.pid!,
    log: () => log,
    async kill() {
      killGroup(child, 'SIGKILL')
      await exited(child)
    },
    async stop() {
      // Allocations werift never released would hold a graceful drain for its whole budget: do not wait.
      await stopChild(child, 500)
      cleanup()
    },
  }
}
