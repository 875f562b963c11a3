import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { extname, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
// The schema only (zod + defaults): check-config and whitelist must not load werift through src/sfu/index.
import { SfuConfigSchema } from '../sfu/config'
import {
  expecting,
  port,
  bindPort,
  intIn,
  positiveInt,
  host,
  advertisedHost,
  advertisedIp,
  cidr,
  wsUrl,
  isLoopbackHost,
} from './configFields'
import { CONFIG_FILE_ENV, ENV_OVERRIDE_PREFIX, ENV_PATH_SEPARATOR, SERVER_DEFAULTS as D } from './defaults'
import { listenerClashes } from './listenerClashes'

// ---------------------------------------------------------------------------------------------------------
// Sections. Sections without required fields have `.prefault({})`, so their defaults apply when absent.

const logSchema = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default(D.log.level),
  })
  .prefault({})

const appSchema = z.strictObject({
  appKey: z.string().min(1, 'expected 1-64 characters').max(64, 'expected 1-64 characters'),
  secret: z.string().min(16, 'expected at least 16 characters'),
})

const portsSchema = z
  .strictObject({
    udp: z
      .array(bindPort)
      .min(1, 'expected 1 to 4 UDP ports')
      .max(4, 'expected 1 to 4 UDP ports')
      .default([...D.proxy.ports.udp])
      .superRefine((ports, ctx) => {
        ports.forEach((p, i) => {
          if (p !== 0 && ports.indexOf(p) !== i)
            ctx.addIssue({ code: 'custom', path: [i], message: `duplicate port ${p}` })
        })
      }),
    tcp: bindPort.default(D.proxy.ports.tcp),
  })
  .prefault({})

const relaySchema = z
  .strictObject({
    listenHost: host.default(D.proxy.relay.listenHost),
    address: advertisedIp.optional(),
    portRange: z
      .tuple([port, port], expecting('expected [min, max] ports'))
      .default([...D.proxy.relay.portRange])
      .refine(([min, max]) => min <= max, 'expected [min, max] with min <= max'),
  })
  .prefault({})

const tlsSchema = z
  .strictObject({ certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() })
  .prefault({})
  .superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      const missing = tls.certFile === undefined ? 'certFile' : 'keyFile'
      ctx.addIssue({ code: 'custom', path: [missing], message: 'set both certFile and keyFile, or neither' })
    }
  })

const A = D.proxy.allocations
const allocationsSchema = z
  .strictObject({
    defaultLifetimeSeconds: intIn(60, 86_400).default(A.defaultLifetimeSeconds),
    maxLifetimeSeconds: intIn(60, 86_400).default(A.maxLifetimeSeconds),
    perUser: positiveInt.default(A.perUser),
    total: positiveInt.default(A.total),
    bandwidthBytesPerSecond: intIn(0, Number.MAX_SAFE_INTEGER).default(A.bandwidthBytesPerSecond),
  })
  .prefault({})
  .superRefine((a, ctx) => {
    if (a.maxLifetimeSeconds < a.defaultLifetimeSeconds) {
      const message = 'expected at least defaultLifetimeSeconds'
      ctx.addIssue({ code: 'custom', path: ['maxLifetimeSeconds'], message })
    }
    if (a.perUser > a.total)
      ctx.addIssue({ code: 'custom', path: ['perUser'], message: 'expected at most total' })
  })

const T = D.proxy.timeouts
const timeoutMs = intIn(100, 3_600_000)
const L = D.proxy.limits

const proxySchema = z.strictObject({
  enabled: z.boolean().default(D.proxy.enabled),
  workers: intIn(1, 64).default(D.proxy.workers),
  // UDP relaying through the native ChannelData fast path (docs/proxy.md §8): when built, always, never.
  fastPath: z.enum(['auto', 'native', 'js']).default('auto'),
  region: z.string().min(1).max(64).default(D.proxy.region),
  publicAddress: advertisedHost,
  listenHost: host.default(D.proxy.listenHost),
  ports: portsSchema,
  relay: relaySchema,
  tls: tlsSchema,
  // RFC 8489 §14.9: REALM is fewer than 128 characters.
  realm: z.string().min(1).max(127).default(D.proxy.realm),
  turnSecret: z.string(expecting('expected a string')).min(16, 'expected at least 16 characters'),
  credentialTtlSeconds: intIn(60, 86_400).default(D.proxy.credentialTtlSeconds),
  nonceTtlSeconds: intIn(10, 3600).default(D.proxy.nonceTtlSeconds),
  allocations: allocationsSchema,
  peers: z.strictObject({
    allow: z.array(cidr).min(1, 'expected at least one CIDR (the conference servers)'),
    allowLoopback: z.boolean().default(D.proxy.peers.allowLoopback),
  }),
  rateLimit: z
    .strictObject({
      unauthenticatedPerSecond: positiveInt.default(D.proxy.rateLimit.unauthenticatedPerSecond),
      burst: positiveInt.default(D.proxy.rateLimit.burst),
      allocationsPerSecond: positiveInt.default(D.proxy.rateLimit.allocationsPerSecond),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      firstByteMs: timeoutMs.default(T.firstByteMs),
      tlsHandshakeMs: timeoutMs.default(T.tlsHandshakeMs),
      httpHeadersMs: timeoutMs.default(T.httpHeadersMs),
      httpRequestMs: timeoutMs.default(T.httpRequestMs),
      tcpIdleMs: timeoutMs.default(T.tcpIdleMs),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxFrameBytes: intIn(1500, 65_535).default(L.maxFrameBytes),
      maxBodyBytes: intIn(256, 16 * 1024 * 1024).default(L.maxBodyBytes),
      maxConnections: positiveInt.default(L.maxConnections),
      // Connection slots (src/proxy/net/connectionSlots.ts): what clients not yet authenticated may hold.
      unauthenticatedPercent: intIn(1, 100).default(L.unauthenticatedPercent),
      unauthenticatedPerIp: positiveInt.default(L.unauthenticatedPerIp),
    })
    .prefault({}),
  signal: z.strictObject({
    upstream: wsUrl,
    joinTimeoutMs: timeoutMs.default(D.proxy.signal.joinTimeoutMs),
    unjoinedPerIp: positiveInt.default(D.proxy.signal.unjoinedPerIp),
  }),
})

const adminSchema = z
  .strictObject({
    host: host.default(D.admin.host),
    port: bindPort.default(D.admin.port),
    allowRemote: z.boolean().default(D.admin.allowRemote),
  })
  .prefault({})
  .superRefine((admin, ctx) => {
    // DESIGN.md §6: admin endpoints stay off the network unless someone says otherwise on purpose.
    if (!admin.allowRemote && !isLoopbackHost(admin.host)) {
      const message =
        'expected a loopback address (127.0.0.1, ::1, localhost) unless admin.allowRemote is true'
      ctx.addIssue({ code: 'custom', path: ['host'], message })
    }
  })

export const serverConfigSchema = z
  .strictObject({
    log: logSchema,
    apps: z.array(appSchema).default([]),
    /** The cloud proxy (docs/proxy.md). Absent on a conference-server-only host. */
    proxy: proxySchema.optional(),
    /** The conference server (docs/sfu.md): every field has a default, `enabled` is false. */
    sfu: SfuConfigSchema,
    admin: adminSchema,
  })
  .superRefine((c, ctx) => {
    const proxyOn = c.proxy?.enabled === true
    if (!proxyOn && !c.sfu.enabled) {
      const message =
        'nothing to run: expected a proxy section (enabled unless proxy.enabled is false) or sfu.enabled: true'
      ctx.addIssue({ code: 'custom', path: [], message })
    } else if (c.apps.length === 0) {
      const message = 'expected at least one { appKey, secret }: join tokens are checked against them'
      ctx.addIssue({ code: 'custom', path: ['apps'], message })
    }
    c.apps.forEach((app, i) => {
      if (c.apps.findIndex((a) => a.appKey === app.appKey) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['apps', i, 'appKey'],
          message: `duplicate appKey "${app.appKey}"`,
        })
      }
    })
    if (c.proxy && c.proxy.relay.address === undefined && isIP(c.proxy.publicAddress) === 0) {
      const message = 'expected an IP address: required when proxy.publicAddress is a DNS name'
      ctx.addIssue({ code: 'custom', path: ['proxy', 'relay', 'address'], message })
    }
    for (const clash of listenerClashes(c)) ctx.addIssue({ code: 'custom', ...clash })
  })
  .transform((c) => {
    // The relayed address (RFC 8656 XOR-RELAYED-ADDRESS) must be an IP; default it to publicAddress.
    const p = c.proxy
    const proxy = p && { ...p, relay: { ...p.relay, address: p.relay.address ?? p.publicAddress } }
    return { ...c, proxy }
  })

/** A validated config: every default filled in, `proxy.relay.address` resolved. */
export type ServerConfig = z.output<typeof serverConfigSchema>
/** The `proxy` section of a validated config that has one. */
export type ProxySection = NonNullable<ServerConfig['proxy']>
/** What the cloud proxy (`ProxyServer.start`) reads: the apps and its own section, which must be present. */
export interface ProxyServerConfig {
  apps: ServerConfig['apps']
  proxy: ProxySection
}
/** The `sfu` section of a validated config (`ConferenceServer.start` takes it as is). */
export type SfuSection = ServerConfig['sfu']
/** What a config file (or the embedded local stack) may write: defaults optional. */
export type ServerConfigInput = z.input<typeof serverConfigSchema>

// ---------------------------------------------------------------------------------------------------------
// Errors

export type ConfigErrorCode = 'invalid' | 'unreadable' | 'unparsable' | 'missing'
export interface ConfigIssue {
  /** Dotted path with array indexes, e.g. `proxy.ports.udp[1]`; empty for the whole document. */
  path: string
  message: string
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, seg) => {
    if (typeof seg === 'number') return `${out}[${seg}]`
    return out === '' ? String(seg) : `${out}.${String(seg)}`
  }, '')
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

function toIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  )
}

function issueLine(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`
}

// ---------------------------------------------------------------------------------------------------------
// Parsing and loading

interface EnvOverride {
  variable: string
  path: string
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
type Node = Record<string, unknown> | unknown[]
const isContainer = (v: unknown): v is Node => typeof v === 'object' && v !== null

/** YAML writes an empty section (`tls:` followed only by comments) as null: treat it as absent. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls)
  if (!isContainer(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v)
  return out
}

/** Validates a plain object (parsed file, or a config built in code). Throws ConfigError. */
export function parseConfig(
  input: unknown,
  context: { file?: string; overrides?: EnvOverride[] } = {},
): ServerConfig {
  const result = serverConfigSchema.safeParse(dropNulls(input), {
    error: (iss) => {
      if (iss.code !== 'invalid_type') return undefined
      return iss.input === undefined ? 'required' : `expected ${iss.expected}, got ${describe(iss.input)}`
    },
  })
  if (result.success) return result.data
  const issues = toIssues(result.error).map((issue) => {
    // Name the environment variable when the bad value came from one.
    const from = context.overrides?.find(
      (o) =>
        issue.path === o.path || issue.path.startsWith(`${o.path}.`) || issue.path.startsWith(`${o.path}[`),
    )
    return from ? { ...issue, message: `${issue.message} (set by ${from.variable})` } : issue
  })
  throw new ConfigError('invalid', issues.map(issueLine).join('; '), issues, context.file)
}

/** `.yaml`/`.yml` → YAML, `.json` → JSON, otherwise by content (a leading `{` is JSON). */
export function parseConfigText(text: string, file = '<config>'): unknown {
  const ext = extname(file).toLowerCase()
  const json = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && text.trimStart().startsWith('{'))
  try {
    return json ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true })
  } catch (err) {
    const what = err instanceof Error ? err.message.split('\n')[0] : String(err)
    throw new ConfigError('unparsable', `not valid ${json ? 'JSON' : 'YAML'}: ${what}`, [], file, {
      cause: err,
    })
  }
}

/**
 * Applies `PINHOLE__a__b=value` overrides onto `base` (mutated). Values are JSON when they parse as JSON
 * (`5`, `true`, `[3478]`), else strings; quote a string that looks like JSON: `'"12345"'`.
 */
export function applyEnvOverrides(
  base: Record<string, unknown>,
  env: Record<string, string | undefined>,
): EnvOverride[] {
  const applied: EnvOverride[] = []
  const vars = Object.keys(env)
    .filter((k) => k.startsWith(ENV_OVERRIDE_PREFIX) && env[k] !== undefined)
    .sort()
  for (const variable of vars) {
    const segments = variable.slice(ENV_OVERRIDE_PREFIX.length).split(ENV_PATH_SEPARATOR)
    if (segments.some((s) => s === '' || UNSAFE_KEYS.has(s))) {
      throw new ConfigError('invalid', `${variable}: expected PINHOLE__section__field (no empty segments)`)
    }
    applied.push({ variable, path: formatPath(setPath(base, segments, envValue(env[variable]!))) })
  }
  return applied
}

function envValue(raw: string): unknown {
  if (raw.trim() === '') return raw
  try {
    return JSON.parse(raw)
  } catch {
    return raw // Not JSON: a plain string, by design.
  }
}

/** Sets `value` at `segments` under `base`, creating containers (a list when the next segment is a number). */
function setPath(base: Node, segments: readonly string[], value: unknown): PropertyKey[] {
  const isIndex = (seg: string): boolean => /^\d+$/.test(seg)
  const path: PropertyKey[] = []
  let node = base
  segments.forEach((seg, i) => {
    const key = Array.isArray(node) && isIndex(seg) ? Number(seg) : seg
    const rec = node as Record<string | number, unknown>
    path.push(key)
    if (i === segments.length - 1) rec[key] = value
    else if (isContainer(rec[key])) node = rec[key]
    else node = rec[key] = isIndex(segments[i + 1]!) ? [] : {}
  })
  return path
}

export interface LoadConfigOptions {
  /** Config file; defaults to $PINHOLE_CONFIG. */
  file?: string
  /** Environment for PINHOLE_CONFIG and PINHOLE__… overrides; defaults to process.env. */
  env?: Record<string, string | undefined>
}

/** Reads the file (if any), applies environment overrides, validates. Throws ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): ServerConfig {
  const env = options.env ?? process.env
  const file = options.file ?? env[CONFIG_FILE_ENV]
  let base: Record<string, unknown> = {}
  let shown: string | undefined
  if (file !== undefined && file !== '') {
    shown = resolve(file)
    let text: string
    try {
      text = readFileSync(shown, 'utf8')
    } catch (err) {
      const why = err instanceof Error && 'code' in err ? String(err.code) : String(err)
      throw new ConfigError('unreadable', `cannot read config file: ${why}`, [], shown, { cause: err })
    }
    const parsed = parseConfigText(text, shown)
    if (parsed !== null && parsed !== undefined && (!isContainer(parsed) || Array.isArray(parsed))) {
      throw new ConfigError('invalid', `expected a mapping at the top, got ${describe(parsed)}`, [], shown)
    }
    base = (parsed as Record<string, unknown> | null) ?? {}
  }
  const overrides = applyEnvOverrides(base, env)
  if (shown === undefined && overrides.length === 0) {
    const message = `no configuration: pass --config FILE or set ${CONFIG_FILE_ENV} (or ${ENV_OVERRIDE_PREFIX}… overrides)`
    throw new ConfigError('missing', message)
  }
  return parseConfig(base, { file: shown, overrides })
}
