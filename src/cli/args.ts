import { AUTO_REGION, type HttpProxyConfig, parseHttpProxyUrl, parseRegions } from '../engine'
import { parseArgs } from 'node:util'
import { ZodError } from 'zod'
import { TransportType, type Region, type RegionChoice } from '../shared/engine'

/**
 * Argument parsing of the `pinhole` desktop CLI (docs/cli.md): pure functions of argv and a file reader,
 * so every usage error is testable without a network. A usage error is a UsageError (exit code 2).
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** Reads a file the arguments name (`--regions`, `--ca`); tests pass their own. */
export type ReadTextFile = (path: string) => string

export const DEFAULT_UDP_PORTS: readonly [number, number] = [3478, 7070]
export const DEFAULT_TCP_PORT = 443
/** Region id of a region given by flags (`--proxy HOST …`) when `--region` does not name it. */
export const FLAG_REGION_ID = 'cli'
/** Lifetime of a token minted from `--app-key` + `--app-secret`. */
export const MINTED_TOKEN_TTL_SECONDS = 3600

/** The name of a region given by flags when `--name` does not give one. */
export function defaultRegionName(proxyHost: string): string {
  return `proxy ${proxyHost}`
}

const REGION_OPTIONS = {
  region: { type: 'string' },
  regions: { type: 'string' },
  proxy: { type: 'string' },
  name: { type: 'string' },
  'udp-ports': { type: 'string' },
  'tcp-port': { type: 'string' },
  fingerprint: { type: 'string' },
  ca: { type: 'string' },
  'http-proxy': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

const DOCTOR_OPTIONS = { ...REGION_OPTIONS, json: { type: 'boolean', default: false } } as const

const JOIN_OPTIONS = {
  ...REGION_OPTIONS,
  'proxy-mode': { type: 'string' },
  channel: { type: 'string' },
  uid: { type: 'string' },
  'display-name': { type: 'string' },
  token: { type: 'string' },
  'app-key': { type: 'string' },
  'app-secret': { type: 'string' },
  duration: { type: 'string' },
  'signal-url': { type: 'string' },
  'reconnect-budget-ms': { type: 'string' },
  'log-level': { type: 'string' },
  'send-video': { type: 'string' },
  'send-audio': { type: 'string' },
} as const

interface RegionValues {
  region?: string | undefined
  regions?: string | undefined
  proxy?: string | undefined
  name?: string | undefined
  'udp-ports'?: string | undefined
  'tcp-port'?: string | undefined
  fingerprint?: string | undefined
  ca?: string | undefined
}

export interface DoctorArgs {
  help: boolean
  json: boolean
  /** `--http-proxy URL`: TLS 443 and the session API through this corporate HTTP CONNECT proxy. */
  httpProxy?: HttpProxyConfig
  /** The regions to check, in configuration order: the one `--region` names, or all of them. */
  regions: Region[]
}

export type TokenSource = { token: string } | { appKey: string; appSecret: string; ttlSeconds: number }

export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const
export type CliLogLevel = (typeof LOG_LEVELS)[number]

export interface JoinArgs {
  help: boolean
  regions: Region[]
  /** A region id, or 'auto' (the engine probes every region). */
  region: RegionChoice
  mode: TransportType
  channel: string
  uid: number
  /** `--display-name`: what the others' tiles show (the engine checks it: 414 when refused). */
  displayName: string | undefined
  auth: TokenSource
  /** The engine's appKey (from --app-key, with either token source). */
  appKey: string | undefined
  /** Seconds to stay in the channel once joined; undefined: until SIGINT/SIGTERM. */
  durationSeconds: number | undefined
  /** Conference server signaling URL for mode none (and Auto's direct try). */
  signalUrl: string | undefined
  /** How long the engine keeps trying to reconnect before Failed (engine default: 60 s). */
  reconnectBudgetMs: number | undefined
  logLevel: CliLogLevel
  /** A VP8 IVF file to send (looped) once Connected. */
  sendVideo: string | undefined
  /** An Ogg Opus file to send (looped) once Connected. */
  sendAudio: string | undefined
  /** `--http-proxy URL`: everything on the proxy's TLS port through this corporate HTTP CONNECT proxy. */
  httpProxy?: HttpProxyConfig
}

/** node:util parseArgs reports unknown options and missing values as TypeErrors: usage errors here. */
function usage<T>(parseFn: () => T): T {
  try {
    return parseFn()
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message)
    throw err
  }
}

export function parseDoctorArgs(argv: readonly string[], readFile: ReadTextFile): DoctorArgs {
  const { values } = usage(() =>
    parseArgs({ args: [...argv], options: DOCTOR_OPTIONS, strict: true, allowPositionals: false }),
  )
  if (values.help) return { help: true, json: values.json, regions: [] }
  const regions = regionsFrom(values, readFile)
  const all = values.region === undefined || values.region === AUTO_REGION || values.proxy !== undefined
  return {
    help: false,
    json: values.json,
    regions: all ? regions : [byId(regions, values.region!)],
    ...httpProxyOf(values['http-proxy']),
  }
}

export function parseJoinArgs(argv: readonly string[], readFile: ReadTextFile): JoinArgs {
  const { values } = usage(() =>
    parseArgs({ args: [...argv], options: JOIN_OPTIONS, strict: true, allowPositionals: false }),
  )
  const logLevel = parseLogLevel(values['log-level'])
  if (values.help) return { ...EMPTY_JOIN, help: true, logLevel }
  const regions = regionsFrom(values, readFile)
  const region =
    values.proxy !== undefined && values.region !== AUTO_REGION
      ? regions[0]!.id
      : (values.region ?? AUTO_REGION)
  if (region !== AUTO_REGION) byId(regions, region)
  const channel = required(values.channel, '--channel')
  const uid = parseInteger(required(values.uid, '--uid'), '--uid', 0, Number.MAX_SAFE_INTEGER)
  const appKey = values['app-key']
  let auth: TokenSource
  if (values.token !== undefined) {
    if (values['app-secret'] !== undefined) throw new UsageError('give --token or --app-secret, not both')
    auth = { token: values.token }
  } else if (appKey !== undefined && values['app-secret'] !== undefined) {
    auth = { appKey, appSecret: values['app-secret'], ttlSeconds: MINTED_TOKEN_TTL_SECONDS }
  } else {
    throw new UsageError('give --token, or --app-key and --app-secret to mint one')
  }
  const duration = values.duration
  return {
    help: false,
    regions,
    region,
    mode: parseProxyMode(values['proxy-mode'] ?? 'auto'),
    channel,
    uid,
    displayName: values['display-name'],
    auth,
    appKey,
    durationSeconds: duration === undefined ? undefined : parseSeconds(duration),
    signalUrl: values['signal-url'] === undefined ? undefined : parseSignalUrl(values['signal-url']),
    reconnectBudgetMs:
      values['reconnect-budget-ms'] === undefined ? undefined : parseBudget(values['reconnect-budget-ms']),
    logLevel,
    sendVideo: nonEmpty(values['send-video'], '--send-video'),
    sendAudio: nonEmpty(values['send-audio'], '--send-audio'),
    ...httpProxyOf(values['http-proxy']),
  }
}

/** `--http-proxy http://[user:pass@]host:port`. */
function httpProxyOf(text: string | undefined): { httpProxy?: HttpProxyConfig } {
  if (text === undefined) return {}
  try {
    return { httpProxy: parseHttpProxyUrl(text) }
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`--http-proxy: ${err.message}`)
    throw err
  }
}

const EMPTY_JOIN: JoinArgs = {
  help: false,
  regions: [],
  region: AUTO_REGION,
  mode: TransportType.Auto,
  channel: '',
  uid: 0,
  displayName: undefined,
  auth: { token: '' },
  appKey: undefined,
  durationSeconds: undefined,
  reconnectBudgetMs: undefined,
  signalUrl: undefined,
  logLevel: 'silent',
  sendVideo: undefined,
  sendAudio: undefined,
}

const MODE_NAMES: Record<string, TransportType> = {
  none: TransportType.None,
  udp: TransportType.UDPProxy,
  tcp: TransportType.TCPProxy,
  auto: TransportType.Auto,
}

/** `none|udp|tcp|auto` or the NERTC number 0–3. */
export function parseProxyMode(text: string): TransportType {
  const mode = MODE_NAMES[text.toLowerCase()] ?? (/^[0-3]$/.test(text) ? Number(text) : undefined)
  if (mode === undefined)
    throw new UsageError(`--proxy-mode must be none, udp, tcp, auto or 0-3, not '${text}'`)
  return mode as TransportType
}

/**
 * The regions: a JSON list from `--regions FILE`, or one region from `--proxy HOST` and its port and pin
 * flags. Validated with the shared Region schema (and unique ids) either way.
 */
export function regionsFrom(values: RegionValues, readFile: ReadTextFile): Region[] {
  const flagNames = ['name', 'udp-ports', 'tcp-port', 'fingerprint', 'ca'] as const
  if (values.regions !== undefined) {
    if (values.proxy !== undefined) throw new UsageError('give --regions FILE or --proxy HOST, not both')
    const given = flagNames.find((flag) => values[flag] !== undefined)
    if (given) throw new UsageError(`--${given} describes a --proxy region; edit the --regions file instead`)
    return loadRegions(values.regions, readFile)
  }
  if (values.proxy === undefined) throw new UsageError('give --regions FILE or --proxy HOST')
  if (values.fingerprint !== undefined && values.ca !== undefined)
    throw new UsageError('give --fingerprint or --ca, not both')
  const region = {
    id: values.region === undefined || values.region === AUTO_REGION ? FLAG_REGION_ID : values.region,
    name: values.name ?? defaultRegionName(values.proxy),
    proxyHost: values.proxy,
    ports: {
      udp: values['udp-ports'] === undefined ? [...DEFAULT_UDP_PORTS] : parseUdpPorts(values['udp-ports']),
      tcp: values['tcp-port'] === undefined ? DEFAULT_TCP_PORT : parsePort(values['tcp-port'], '--tcp-port'),
    },
    ...(values.fingerprint === undefined ? {} : { tlsFingerprintSha256: values.fingerprint.toUpperCase() }),
    ...(values.ca === undefined ? {} : { caPem: readOrUsage(readFile, values.ca, '--ca') }),
  }
  return validated(() => parseRegions([region]), 'the region given by flags')
}

function loadRegions(path: string, readFile: ReadTextFile): Region[] {
  const text = readOrUsage(readFile, path, '--regions')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`--regions ${path}: not JSON (${err instanceof Error ? err.message : String(err)})`)
  }
  const regions = validated(() => parseRegions(json), `--regions ${path}`)
  if (regions.length === 0) throw new UsageError(`--regions ${path}: the list is empty`)
  return regions
}

function validated(parseFn: () => Region[], where: string): Region[] {
  try {
    return parseFn()
  } catch (err) {
    if (err instanceof ZodError) {
      const issues = err.issues.map((issue) => `${describePath(issue.path)}: ${issue.message}`)
      throw new UsageError(`${where}: ${issues.join('; ')}`)
    }
    if (err instanceof RangeError) throw new UsageError(`${where}: ${err.message}`)
    throw err
  }
}

/** `[0, 'ports', 'udp', 1]` → `[0].ports.udp[1]`; a region from flags is `[0]`, named by its flags. */
function describePath(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('') || '(root)'
}

function readOrUsage(readFile: ReadTextFile, path: string, flag: string): string {
  try {
    return readFile(path)
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : String(err)
    throw new UsageError(`${flag} ${path}: cannot read (${code})`)
  }
}

function byId(regions: readonly Region[], id: string): Region {
  const region = regions.find((r) => r.id === id)
  if (!region) throw new UsageError(`--region ${id}: not one of ${regions.map((r) => r.id).join(', ')}`)
  return region
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`)
  return value
}

function nonEmpty(value: string | undefined, flag: string): string | undefined {
  if (value === '') throw new UsageError(`${flag} needs a file name`)
  return value
}

function parseInteger(text: string, flag: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, not '${text}'`)
  return value
}

export function parsePort(text: string, flag: string): number {
  return parseInteger(text, flag, 1, 65_535)
}

/** `3478,7070`: exactly two UDP ports (the main one and the alternate). */
export function parseUdpPorts(text: string): [number, number] {
  const parts = text.split(',').map((part) => part.trim())
  if (parts.length !== 2) throw new UsageError(`--udp-ports takes two ports, e.g. 3478,7070, not '${text}'`)
  return [parsePort(parts[0]!, '--udp-ports'), parsePort(parts[1]!, '--udp-ports')]
}

function parseBudget(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN
  if (!(value >= 1000) || value > 3_600_000)
    throw new UsageError(`--reconnect-budget-ms must be 1000 to 3600000 milliseconds, not '${text}'`)
  return value
}

function parseSeconds(text: string): number {
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN
  if (!(value > 0) || value > 86_400)
    throw new UsageError(`--duration must be seconds, more than 0 and at most 86400, not '${text}'`)
  return value
}

function parseSignalUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--signal-url must be a ws:// or wss:// URL, not '${text}'`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new UsageError(`--signal-url must be a ws:// or wss:// URL, not '${text}'`)
  return text
}

function parseLogLevel(text: string | undefined): CliLogLevel {
  if (text === undefined) return 'silent'
  const level = LOG_LEVELS.find((l) => l === text)
  if (!level) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not '${text}'`)
  return level
}
