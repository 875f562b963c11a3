import { pino, type DestinationStream, type Level, type Logger } from 'pino'

export type LogLevel = Level | 'silent'

/** Paths never written to the log: secrets from the config and credentials from requests. */
const REDACT = [
  'secret',
  'password',
  'token',
  'turnSecret',
  '*.secret',
  '*.password',
  '*.token',
  '*.turnSecret',
  'config.apps[*].secret',
  'config.proxy.turnSecret',
]

/**
 * JSON lines on stdout (or `destination`), ISO timestamps, secrets redacted. Tests pass `'silent'`.
 * `bindings` are added to every line, e.g. `{ service: 'proxy', region: 'shanghai' }`.
 */
export function createLogger(
  level: LogLevel,
  bindings: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  }
  return destination ? pino(options, destination) : pino(options)
}

export type { Logger }
