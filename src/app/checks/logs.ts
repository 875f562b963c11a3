import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { join, posix, win32 } from 'node:path'
import { pino, type DestinationStream, type Logger } from 'pino'
import type { PolicyLogLevel } from '../../shared/policy'

/**
 * The app's log files (issue 6): JSON lines (pino) in the OS log location, rotated by size, level from
 * the policy. Synchronous writes: a desktop app logs little, and a line must be on disk before a crash.
 */

export const LOG_FILE_NAME = 'pinhole.log'
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024
/** The current file plus this many minus one rotated ones (pinhole.log.1 … .4). */
export const DEFAULT_MAX_FILES = 5

export interface LogDirOptions {
  /** Electron's `app.getPath('logs')`: used when given (the core passes it). */
  electronLogsPath?: string
  platform?: NodeJS.Platform
  env?: Record<string, string | undefined>
  home?: string
}

/**
 * The OS log location for the app without Electron (or for the CLI): Linux `$XDG_STATE_HOME/Pinhole/logs`
 * (`~/.local/state/Pinhole/logs`), macOS `~/Library/Logs/Pinhole`, Windows `%LOCALAPPDATA%\Pinhole\logs`.
 */
export function logDirectory(options: LogDirOptions = {}): string {
  if (options.electronLogsPath !== undefined) return options.electronLogsPath
  const env = options.env ?? process.env
  const home = options.home ?? homedir()
  switch (options.platform ?? process.platform) {
    case 'win32':
      return win32.join(env['LOCALAPPDATA'] ?? win32.join(home, 'AppData', 'Local'), 'Pinhole', 'logs')
    case 'darwin':
      return posix.join(home, 'Library', 'Logs', 'Pinhole')
    default: {
      // XDG: a relative $XDG_STATE_HOME is invalid and must be ignored.
      const state = env['XDG_STATE_HOME']
      const base =
        state !== undefined && posix.isAbsolute(state) ? state : posix.join(home, '.local', 'state')
      return posix.join(base, 'Pinhole', 'logs')
    }
  }
}

export interface RotatingFileOptions {
  dir: string
  fileName?: string
  /** Rotate before a write would take the current file past this size. */
  maxBytes?: number
  /** Files kept, the current one included (≥ 1). */
  maxFiles?: number
}

/** A pino destination writing to `dir/fileName`, rotating to `.1` … `.(maxFiles-1)` by size. */
export class RotatingFile implements DestinationStream {
  readonly path: string
  private readonly maxBytes: number
  private readonly maxFiles: number
  private fd: number | undefined
  private size = 0

  constructor(private readonly options: RotatingFileOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
    this.maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES
    if (!Number.isInteger(this.maxFiles) || this.maxFiles < 1) throw new RangeError('maxFiles must be ≥ 1')
    if (!(this.maxBytes > 0)) throw new RangeError('maxBytes must be > 0')
    this.path = join(options.dir, options.fileName ?? LOG_FILE_NAME)
    mkdirSync(options.dir, { recursive: true })
    this.open()
  }

  write(chunk: string): void {
    if (this.fd === undefined) throw new Error(`log file ${this.path} is closed`)
    const bytes = Buffer.byteLength(chunk)
    // A line longer than maxBytes still goes into a file of its own rather than being lost.
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate()
    writeSync(this.fd!, chunk)
    this.size += bytes
  }

  close(): void {
    if (this.fd === undefined) return
    closeSync(this.fd)
    this.fd = undefined
  }

  /** The files, newest first (the current one, then .1, .2 …), as they exist now. */
  files(): string[] {
    return listLogFiles(this.options.dir, this.options.fileName)
  }

  private open(): void {
    this.fd = openSync(this.path, 'a', 0o600)
    this.size = fstatSync(this.fd).size
  }

  private rotate(): void {
    this.close()
    rmSync(`${this.path}.${this.maxFiles - 1}`, { force: true })
    for (let i = this.maxFiles - 2; i >= 1; i -= 1)
      renameIfExists(`${this.path}.${i}`, `${this.path}.${i + 1}`)
    if (this.maxFiles > 1) renameIfExists(this.path, `${this.path}.1`)
    else rmSync(this.path, { force: true })
    this.open()
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to)
  } catch (err) {
    if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err
  }
}

/** The log files in `dir`, newest first: `pinhole.log`, `pinhole.log.1`, … (other files ignored). */
export function listLogFiles(dir: string, fileName = LOG_FILE_NAME): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return []
    throw err
  }
  const index = (name: string): number => (name === fileName ? 0 : Number(name.slice(fileName.length + 1)))
  return names
    .filter((name) => name === fileName || new RegExp(`^${escapeRegExp(fileName)}\\.\\d+$`).test(name))
    .sort((a, b) => index(a) - index(b))
    .map((name) => join(dir, name))
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Field names never written as they are (the diagnostics export redacts log lines again anyway). */
export const LOG_REDACT_PATHS = [
  'token',
  'password',
  'secret',
  'credential',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.credential',
  '*.authorization',
  'httpProxy.password',
  '*.httpProxy.password',
  'turn.credential',
  '*.turn.credential',
]

export interface AppLoggerOptions extends RotatingFileOptions {
  /** From the effective settings (the policy's `logLevel`, else info). */
  level: PolicyLogLevel
  bindings?: Record<string, unknown>
}

export interface AppLog {
  logger: Logger
  file: RotatingFile
  close(): void
}

/** A pino logger on a RotatingFile; `logger.level = …` changes the level when the policy changes. */
export function createAppLogger(options: AppLoggerOptions): AppLog {
  const file = new RotatingFile(options)
  const logger = pino(
    {
      level: options.level,
      base: { pid: process.pid, ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label: string) => ({ level: label }) },
    },
    file,
  )
  return { logger, file, close: () => file.close() }
}
