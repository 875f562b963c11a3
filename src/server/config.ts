import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { extname, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
// src/sfu/index.ts loads no werift until a server starts, so check-config and whitelist stay quick.
import { SfuConfigSchema } from '../sfu'
import { bindPort, host, isLoopbackHost } from '../platform/configFields'
import { proxySectionSchema, resolveRelayAddress, type ProxySection, type ProxyServerConfig } from '../proxy'
import { CONFIG_FILE_ENV, ENV_OVERRIDE_PREFIX, ENV_PATH_SEPARATOR, SERVER_DEFAULTS as D } from './defaults'
import { listenerClashes } from './listenerClashes'
import { workerIssues } from './sfuWorkers'
import { CLUSTER_DEFAULTS, clusterSectionSchema } from './clusterConfig'

// ---------------------------------------------------------------------------------------------------------
// Sections. Sections without required fields have `.prefault({})`, so their defaults apply when absent.
// The `proxy` and `sfu` sections are the services' own schemas (src/proxy/config.ts, src/sfu/config.ts).

const logSchema = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default(D.log.level),
  })
  .prefault({})

const appSchema = z.strictObject({
  appKey: z.string().min(1, 'expected 1-64 characters').max(64, 'expected 1-64 characters'),
  secret: z.string().min(16, 'expected at least 16 characters'),
})

const adminSchema = z
  .strictObject({
    host: host.default(D.admin.host),
    port: bindPort.default(D.admin.port),
    allowRemote: z.boolean().default(D.admin.allowRemote),
  })
  .prefault({})
  .superRefine((admin, ctx) => {
    // Admin endpoints stay off the network unless someone says otherwise on purpose (docs/architecture.md).
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
    proxy: proxySectionSchema.optional(),
    /** The conference server (docs/sfu.md): every field has a default, `enabled` is false. */
    sfu: SfuConfigSchema,
    admin: adminSchema,
    /** Conference nodes and proxies coordinated through Redis (docs/scaling.md). Absent: no Redis. */
    cluster: clusterSectionSchema.optional(),
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
    for (const issue of workerIssues(c)) ctx.addIssue({ code: 'custom', ...issue })
    if (c.proxy?.enabled && !c.cluster && c.proxy.signal.upstream === undefined) {
      const message =
        'required: the conference server signaling is relayed to (ws:// or wss://), unless a cluster ' +
        'section (cluster.redis) places each channel on a node'
      ctx.addIssue({ code: 'custom', path: ['proxy', 'signal', 'upstream'], message })
    }
    if (c.cluster && c.proxy?.enabled && c.proxy.workers > 1) {
      // Each proxy worker would need its own Redis client; several proxy processes per region do the same job.
      const message = 'expected 1 with a cluster section: proxy workers do not place channels yet'
      ctx.addIssue({ code: 'custom', path: ['proxy', 'workers'], message })
    }
  })
  .transform((c) => ({
    ...c,
    proxy: c.proxy && resolveRelayAddress(c.proxy),
    cluster: c.cluster && {
      ...c.cluster,
      region: c.cluster.region ?? c.proxy?.region ?? CLUSTER_DEFAULTS.region,
    },
  }))

/** A validated config: every default filled in, `proxy.relay.address` resolved. */
export type ServerConfig = z.output<typeof serverConfigSchema>
/** The `proxy` section and what `ProxyServer.start` reads are the proxy's own (src/proxy/config.ts). */
export type { ProxySection, ProxyServerConfig }
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
