import { readFileSync, statSync } from 'node:fs'
import { posix, win32 } from 'node:path'
import { TransportType, type Region, type RegionChoice } from '../../shared/engine'
import type { LockableField } from '../../shared/ipc'
import {
  formatPolicyIssues,
  LOCKABLE_FIELDS,
  parsePolicy,
  type HttpProxy,
  type Policy,
  type PolicyIssue,
  type PolicyLogLevel,
} from '../../shared/policy'
import { settingsNoteSentence, type SettingsNote } from '../../shared/settingsNotes'

/**
 * Loading the IT policy from its machine-wide location and applying it over the user's settings
 * (docs/policy.md). No Electron here: the app core passes what it knows (platform, whether it is packaged).
 */

/** Test and development override of the location; ignored unless `allowEnvOverride` (never when packaged). */
export const POLICY_FILE_ENV = 'PINHOLE_POLICY_FILE'

/** A policy file larger than this is refused as invalid (a policy is a few kilobytes). */
export const POLICY_MAX_BYTES = 1024 * 1024

export interface PolicyLocationOptions {
  platform?: NodeJS.Platform
  env?: Record<string, string | undefined>
  /** An explicit location (tests, or the core's own option); wins over everything. */
  path?: string
  /** Honour $PINHOLE_POLICY_FILE. Pass `!app.isPackaged`: an installed app must not let a user move it. */
  allowEnvOverride?: boolean
}

/** The OS-standard machine-wide location (docs/policy.md, "Where"). */
export function policyPath(options: PolicyLocationOptions = {}): string {
  const env = options.env ?? process.env
  if (options.path !== undefined) return options.path
  const fromEnv = env[POLICY_FILE_ENV]
  if (options.allowEnvOverride === true && fromEnv !== undefined && fromEnv !== '') return fromEnv
  switch (options.platform ?? process.platform) {
    case 'win32':
      return win32.join(
        env['ProgramData'] ?? env['ALLUSERSPROFILE'] ?? 'C:\\ProgramData',
        'Pinhole',
        'policy.json',
      )
    case 'darwin':
      return posix.join('/Library/Application Support/Pinhole', 'policy.json')
    default:
      return '/etc/pinhole/policy.json'
  }
}

export type PolicyLoad =
  | { status: 'none'; path: string }
  | { status: 'valid'; path: string; policy: Policy }
  /** Never half-applied: effectiveSettings falls back to INVALID_POLICY_FALLBACK. */
  | { status: 'invalid'; path: string; reason: string; issues: PolicyIssue[] }

export interface LoadPolicyOptions extends PolicyLocationOptions {
  /** Injected for tests; defaults to reading the file (refusing non-files and files over POLICY_MAX_BYTES). */
  readFile?: (path: string) => string
}

/** Reads and validates the policy. Never throws for anything about the file: that is `invalid`. */
export function loadPolicy(options: LoadPolicyOptions = {}): PolicyLoad {
  const path = policyPath(options)
  let text: string
  try {
    text = (options.readFile ?? readPolicyFile)(path)
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : undefined
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'none', path }
    return invalid(path, [{ path: '(file)', message: `cannot read: ${code ?? errorMessage(err)}` }])
  }
  // Windows editors write a UTF-8 byte order mark; JSON.parse refuses it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch (err) {
    return invalid(path, [{ path: '(file)', message: `not valid JSON: ${errorMessage(err)}` }])
  }
  const parsed = parsePolicy(json)
  return parsed.ok ? { status: 'valid', path, policy: parsed.policy } : invalid(path, parsed.issues)
}

function readPolicyFile(path: string): string {
  const stat = statSync(path)
  if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'not a regular file' })
  if (stat.size > POLICY_MAX_BYTES) {
    throw Object.assign(new Error('too large'), { code: `larger than ${POLICY_MAX_BYTES} bytes` })
  }
  return readFileSync(path, 'utf8')
}

function invalid(path: string, issues: PolicyIssue[]): PolicyLoad {
  return { status: 'invalid', path, reason: formatPolicyIssues(issues), issues }
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
}

/** What the user chose (the app's settings file); undefined: never chosen, the default applies. */
export interface UserSettings {
  cloudProxy?: TransportType
  region?: RegionChoice
  /** Regions the user or the app added (the embedded stack's "This computer" region when it runs). */
  regions?: readonly Region[]
}

export const ALL_PROXY_MODES: readonly TransportType[] = [0, 1, 2, 3]

/** The app's defaults without a policy. */
export const APP_DEFAULTS = { cloudProxy: TransportType.Auto, region: 'auto', logLevel: 'info' } as const

export interface EffectiveSettings {
  cloudProxy: TransportType
  /** The modes the UI may offer (the policy's allowed set; all four without one). */
  allowedProxyModes: TransportType[]
  region: RegionChoice
  regions: Region[]
  allowEmbeddedStack: boolean
  logLevel: PolicyLogLevel
  /** Corporate HTTP CONNECT proxy for the TLS 443 traffic; contains a password: never log it as is. */
  httpProxy?: HttpProxy
  /** False only under an invalid policy: the app explains it cannot call until IT fixes the policy. */
  canCall: boolean
  locked: LockableField[]
  /** What to tell the user about the policy (worded by the renderer); empty without a policy. */
  notes: SettingsNote[]
  /** The notes in English (logs, tests); absent without a policy. */
  policyNotice?: string
  policy: { status: PolicyLoad['status']; path: string; reason?: string }
}

/**
 * The most restrictive safe behaviour, for a policy that exists but does not validate: IT meant to
 * manage this machine and we cannot tell how, so nothing of the file and nothing of the user's is trusted.
 * No regions (no address the user could have added to get around the company's choice), no embedded
 * stack, proxy mode locked to TCP/TLS 443 (the mode every whitelisting allows), default log level.
 */
export const INVALID_POLICY_FALLBACK = {
  cloudProxy: TransportType.TCPProxy,
  allowedProxyModes: [TransportType.TCPProxy],
  region: 'auto',
  regions: [],
  allowEmbeddedStack: false,
  logLevel: APP_DEFAULTS.logLevel,
  canCall: false,
  locked: [...LOCKABLE_FIELDS],
} as const satisfies Partial<EffectiveSettings>

/** Policy wins over the user: forced or allowed modes, its regions, locks (docs/policy.md, "Precedence"). */
export function effectiveSettings(user: UserSettings, load: PolicyLoad): EffectiveSettings {
  const policyInfo = {
    status: load.status,
    path: load.path,
    ...(load.status === 'invalid' ? { reason: load.reason } : {}),
  }
  if (load.status === 'invalid') {
    return {
      ...INVALID_POLICY_FALLBACK,
      allowedProxyModes: [...INVALID_POLICY_FALLBACK.allowedProxyModes],
      regions: [],
      locked: [...INVALID_POLICY_FALLBACK.locked],
      ...withNotes([{ kind: 'policyInvalid', path: load.path, reason: load.reason }]),
      policy: policyInfo,
    }
  }
  if (load.status === 'none') {
    const regions = [...(user.regions ?? [])]
    return {
      cloudProxy: user.cloudProxy ?? APP_DEFAULTS.cloudProxy,
      allowedProxyModes: [...ALL_PROXY_MODES],
      region: knownRegion(user.region, regions) ?? APP_DEFAULTS.region,
      regions,
      allowEmbeddedStack: true,
      logLevel: APP_DEFAULTS.logLevel,
      canCall: true,
      locked: [],
      notes: [],
      policy: policyInfo,
    }
  }
  return applyPolicy(user, load.policy, policyInfo)
}

function applyPolicy(
  user: UserSettings,
  policy: Policy,
  info: EffectiveSettings['policy'],
): EffectiveSettings {
  const locked = new Set<LockableField>(policy.locked ?? [])
  const notes: SettingsNote[] = []

  // Proxy mode: forced → locked; allowed → the user's choice if allowed, else the policy's default.
  const mode = policy.proxyMode
  let allowedProxyModes = [...ALL_PROXY_MODES]
  let cloudProxy: TransportType = user.cloudProxy ?? APP_DEFAULTS.cloudProxy
  if (mode?.forced !== undefined) {
    locked.add('cloudProxy')
    allowedProxyModes = [mode.forced]
    cloudProxy = mode.forced
  } else if (mode?.allowed !== undefined) {
    const allowed = mode.allowed
    allowedProxyModes = [...allowed]
    const fallback = mode.default ?? allowed[0]!
    const wanted = locked.has('cloudProxy') ? undefined : user.cloudProxy
    if (wanted !== undefined && !allowed.includes(wanted)) {
      notes.push({ kind: 'modeNotAllowed', wanted, used: fallback })
    }
    cloudProxy = wanted !== undefined && allowed.includes(wanted) ? wanted : fallback
  }
  if (locked.has('cloudProxy') && user.cloudProxy !== undefined && user.cloudProxy !== cloudProxy) {
    notes.push({ kind: 'modeReplaced', wanted: user.cloudProxy, used: cloudProxy })
  }

  // Regions: the policy's first; the user's own too unless `regions` is locked (a policy id wins).
  const policyRegions = policy.regions ?? []
  const policyIds = new Set(policyRegions.map((r) => r.id))
  const userRegions = locked.has('regions') ? [] : (user.regions ?? []).filter((r) => !policyIds.has(r.id))
  const regions = [...policyRegions, ...userRegions]

  const fallbackRegion = policy.defaultRegion ?? APP_DEFAULTS.region
  let region: RegionChoice
  if (locked.has('region')) {
    region = fallbackRegion
    if (user.region !== undefined && user.region !== region) {
      notes.push({ kind: 'regionReplaced', wanted: user.region, used: region })
    }
  } else if (user.region === undefined) {
    region = fallbackRegion
  } else {
    region = knownRegion(user.region, regions) ?? fallbackRegion
    if (region !== user.region) notes.push({ kind: 'regionNotOffered', wanted: user.region, used: region })
  }

  const lockedList = LOCKABLE_FIELDS.filter((f) => locked.has(f))
  return {
    cloudProxy,
    allowedProxyModes,
    region,
    regions,
    allowEmbeddedStack: policy.allowEmbeddedStack ?? policy.regions === undefined,
    logLevel: policy.logLevel ?? APP_DEFAULTS.logLevel,
    ...(policy.httpProxy !== undefined ? { httpProxy: { ...policy.httpProxy } } : {}),
    canCall: true,
    locked: lockedList,
    ...withNotes([{ kind: 'policyManaged', path: info.path, locked: lockedList }, ...notes]),
    policy: info,
  }
}

/** The notes, and the same in English for logs. */
function withNotes(notes: SettingsNote[]): Pick<EffectiveSettings, 'notes' | 'policyNotice'> {
  return { notes, policyNotice: notes.map(settingsNoteSentence).join(' ') }
}

function knownRegion(choice: RegionChoice | undefined, regions: readonly Region[]): RegionChoice | undefined {
  if (choice === undefined) return undefined
  return choice === 'auto' || regions.some((r) => r.id === choice) ? choice : undefined
}
