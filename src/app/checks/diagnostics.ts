import { closeSync, openSync, readSync, fstatSync, mkdirSync, writeFileSync } from 'node:fs'
import { arch, platform, release, version as osVersion } from 'node:os'
import { basename, join } from 'node:path'
import type { PolicyLoad } from '../settings/policy'

/**
 * "Export diagnostics" (issue 6): one JSON file IT can attach to a ticket, with the logs, versions,
 * effective settings and policy, and the network check results, and no secret in it. Redaction is done
 * three ways, because a secret can sit anywhere, including inside a log line written by code we do not own:
 *
 * 1. by field name, in every object (`token`, `turnSecret`, `password`, `credential`, `authorization`…);
 * 2. by shape, in every string: JWTs (`eyJ…`), `Bearer …`/`Basic …`, `user:pass@` in URLs, PEM private
 *    keys, `key=value` / `"key":"value"` with a secret-looking key, TURN REST passwords (base64 HMACs);
 * 3. by value: every string found under a secret field name, plus the `secrets` the caller knows about (the
 *    current join token, TURN credentials), is removed wherever else it appears, as is, JSON-escaped or
 *    URL-encoded.
 */

export const REDACTED = '[redacted]'

export const DIAGNOSTICS_FORMAT = 'pinhole-diagnostics'
export const DIAGNOSTICS_VERSION = 1
/** Newest log bytes kept in a bundle (older lines are left out, and the bundle says so). */
export const DEFAULT_MAX_LOG_BYTES = 4 * 1024 * 1024

/** A field name whose value is a secret: matched against the whole key, any case. */
const SECRET_KEY =
  /^[a-z0-9_.-]*(token|secret|passw(or)?d|pwd|credential|authori[sz]ation|cookie|api[_-]?key|private[_-]?key|signature)[a-z0-9_.-]*$/i
const SECRET_KEY_SOURCE =
  '[A-Za-z0-9_.-]*(?:token|secret|passw(?:or)?d|pwd|credential|authori[sz]ation|cookie|api[_-]?key|private[_-]?key|signature)[A-Za-z0-9_.-]*'

/** Shapes redacted in any string, in this order. */
const TEXT_RULES: readonly [RegExp, string][] = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  // A JWT, or any base64url JSON ("{" encodes as eyJ), whole or cut short.
  [/eyJ[A-Za-z0-9_-]{2,}(\.[A-Za-z0-9_-]*){0,2}/g, REDACTED],
  [/\b(Bearer|Basic|Digest|Negotiate|NTLM)(\s+)[A-Za-z0-9._~+/=-]{4,}/gi, `$1$2${REDACTED}`],
  // user:password@ (and user@) in any URL.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\]+@/gi, `$1${REDACTED}@`],
  // key=value, key: value, "key":"value", \"key\":\"value\" (a JSON string inside a JSON log line).
  [
    new RegExp(
      `((?:\\\\?["'])?${SECRET_KEY_SOURCE}(?:\\\\?["'])?\\s*[:=]\\s*)` +
        `(\\\\"(?:[^\\\\]|\\\\(?!"))*\\\\"|"(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s,;&"'}\\]\\\\]+)`,
      'gi',
    ),
    `$1"${REDACTED}"`,
  ],
  // A line of nothing but base64 (a PEM body line whose BEGIN line was cut off, a key file's content).
  [/^[A-Za-z0-9+/]{40,}={0,2}$/gm, REDACTED],
  // TURN REST passwords: base64 of an HMAC-SHA1 (28 characters) or -SHA256 (44), whatever labels them.
  [/(?<![A-Za-z0-9+/])([A-Za-z0-9+/]{27}=|[A-Za-z0-9+/]{43}=)(?![A-Za-z0-9+/=])/g, REDACTED],
]

/** Values shorter than this are not removed by value (they would wipe ordinary words); rules 1-2 still apply. */
const MIN_SECRET_LENGTH = 4

export class Redactor {
  private readonly secrets = new Set<string>()

  constructor(secrets: Iterable<string> = []) {
    for (const s of secrets) this.addSecret(s)
  }

  addSecret(value: string): void {
    if (value.length < MIN_SECRET_LENGTH || value === REDACTED) return
    this.secrets.add(value)
    this.secrets.add(JSON.stringify(value).slice(1, -1))
    this.secrets.add(encodeURIComponent(value))
  }

  /** Collects the values under secret field names (call on every input before redacting any). */
  collect(value: unknown, key?: string): void {
    if (typeof value === 'string') {
      if (key !== undefined && SECRET_KEY.test(key)) this.addSecret(value)
    } else if (Array.isArray(value)) {
      for (const item of value) this.collect(item, key)
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) this.collect(v, k)
    }
  }

  /** Known values first (a shape rule could rewrite part of one and hide the rest from the value pass). */
  text(input: string): string {
    let out = this.literals(input)
    for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement)
    return out
  }

  /** A deep copy with secret fields replaced and every string passed through text(). */
  value(input: unknown, key?: string): unknown {
    if (key !== undefined && SECRET_KEY.test(key) && input !== undefined && input !== null) return REDACTED
    if (typeof input === 'string') return this.text(input)
    if (Array.isArray(input)) return input.map((item) => this.value(item))
    if (input !== null && typeof input === 'object') {
      return Object.fromEntries(Object.entries(input).map(([k, v]) => [this.text(k), this.value(v, k)]))
    }
    return input
  }

  /** Removes the known secret values (longest first, so a secret containing another goes whole). */
  literals(input: string): string {
    let out = input
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      out = out.split(secret).join(REDACTED)
    }
    return out
  }
}

export interface DiagnosticsVersions {
  app: string
  electron?: string
  chrome?: string
  node?: string
}

export interface DiagnosticsInput {
  versions: DiagnosticsVersions
  /** The effective settings (effectiveSettings()), as the app runs with them. */
  settings: unknown
  policy: PolicyLoad
  /** The "Network check" results (RegionProbeResult[] of every region), as the view ran them. */
  networkChecks?: unknown
  /** Log files, newest first (RotatingFile.files() / listLogFiles()). */
  logFiles?: readonly string[]
  maxLogBytes?: number
  /** Secrets the caller knows (current join token, TURN credentials, HTTP proxy password). */
  secrets?: readonly string[]
  now?: Date
  os?: { platform: string; release: string; arch: string; version?: string }
}

export interface DiagnosticsLog {
  file: string
  /** Oldest first, redacted. */
  lines: string[]
  /** True when older lines of this file were left out for size. */
  truncated: boolean
}

export interface DiagnosticsBundle {
  format: typeof DIAGNOSTICS_FORMAT
  version: typeof DIAGNOSTICS_VERSION
  createdAt: string
  versions: DiagnosticsVersions & { node: string }
  os: { platform: string; release: string; arch: string; version?: string }
  policy: { status: PolicyLoad['status']; path: string; reason?: string; content?: unknown }
  settings: unknown
  networkChecks: unknown
  logs: DiagnosticsLog[]
  redaction: string
}

/** Builds the bundle in memory, redacted. */
export function buildDiagnostics(input: DiagnosticsInput): DiagnosticsBundle {
  const redactor = new Redactor(input.secrets)
  const policy = {
    status: input.policy.status,
    path: input.policy.path,
    ...(input.policy.status === 'invalid' ? { reason: input.policy.reason } : {}),
    ...(input.policy.status === 'valid' ? { content: input.policy.policy } : {}),
  }
  // Every structured input first, so that a secret seen in one is removed from all (logs included).
  for (const part of [input.settings, policy, input.networkChecks]) redactor.collect(part)
  const logs = readLogs(input.logFiles ?? [], input.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES, redactor)
  const bundle: DiagnosticsBundle = {
    format: DIAGNOSTICS_FORMAT,
    version: DIAGNOSTICS_VERSION,
    createdAt: (input.now ?? new Date()).toISOString(),
    versions: { node: process.versions.node, ...input.versions },
    os: input.os ?? { platform: platform(), release: release(), arch: arch(), version: osVersion() },
    policy: redactor.value(policy) as DiagnosticsBundle['policy'],
    settings: redactor.value(input.settings),
    networkChecks: redactor.value(input.networkChecks ?? null),
    logs,
    redaction: `secrets, tokens, passwords and credentials are replaced by ${REDACTED}`,
  }
  return bundle
}

/** `serializeDiagnostics` runs the value pass once more over the final text, as a last net. */
export function serializeDiagnostics(bundle: DiagnosticsBundle, secrets: readonly string[] = []): string {
  const redactor = new Redactor(secrets)
  return `${redactor.literals(JSON.stringify(bundle, null, 2))}\n`
}

/** Writes `pinhole-diagnostics-<time>.json` into `dir` and returns its path. */
export function writeDiagnostics(input: DiagnosticsInput, dir: string): string {
  const bundle = buildDiagnostics(input)
  mkdirSync(dir, { recursive: true })
  const stamp = bundle.createdAt.replace(/[:.]/g, '-')
  const path = join(dir, `pinhole-diagnostics-${stamp}.json`)
  writeFileSync(path, serializeDiagnostics(bundle, input.secrets), { mode: 0o600 })
  return path
}

/** Newest bytes first across the files (newest file first), each file's kept lines in order, redacted. */
function readLogs(files: readonly string[], maxBytes: number, redactor: Redactor): DiagnosticsLog[] {
  const out: DiagnosticsLog[] = []
  let budget = maxBytes
  for (const file of files) {
    if (budget <= 0) break
    const { text, truncated } = readTail(file, budget)
    budget -= Buffer.byteLength(text)
    // Redacted whole before the split: a PEM key spans lines, and its body lines alone look harmless.
    const lines = redactor
      .text(text)
      .split('\n')
      .filter((line) => line !== '')
    out.push({ file: basename(file), lines, truncated })
  }
  return out.reverse()
}

function readTail(file: string, maxBytes: number): { text: string; truncated: boolean } {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    const length = Math.min(size, maxBytes)
    const buffer = Buffer.alloc(length)
    readSync(fd, buffer, 0, length, size - length)
    let text = buffer.toString('utf8')
    // Cut at a line start so no half line (and no half secret) is kept.
    if (length < size) text = text.slice(text.indexOf('\n') + 1)
    return { text, truncated: length < size }
  } finally {
    closeSync(fd)
  }
}
