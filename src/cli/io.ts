import { readFileSync } from 'node:fs'
import type { ReadTextFile } from './args'

/** What the `pinhole` CLI touches outside itself; tests pass their own. */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  readFile: ReadTextFile
  /** Where SIGINT/SIGTERM come from (`join` leaves the channel on the first one). */
  signals: Pick<NodeJS.EventEmitter, 'on' | 'off'>
  /** Immediate exit (a second signal while leaving). */
  exit(code: number): void
  /** Milliseconds for the `t` of event lines; default performance.now. */
  now(): number
}

export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readFile: (path) => readFileSync(path, 'utf8'),
    signals: process,
    exit: (code) => process.exit(code),
    now: () => performance.now(),
  }
}

/** Exit codes (docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  /** The join failed, or the call ended on the engine's or server's side. */
  Failed: 1,
  Usage: 2,
  /** doctor: at least one whitelisted endpoint is not reachable (blocked, refused, unresolved, error). */
  Blocked: 3,
  /** A second SIGINT/SIGTERM while leaving. */
  Interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
