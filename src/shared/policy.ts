import { z } from 'zod'
import { StrictRegionSchema, TransportType } from './engine'

/** Fields an IT policy can fix; the UI shows them locked. */
export type LockableField = 'cloudProxy' | 'region' | 'regions'

/**
 * The IT policy file (issue 6; reference: docs/policy.md). A machine-wide JSON file that
 * overrides the user's settings and can lock them. Unknown fields are errors, so a misspelt field never
 * silently leaves a setting unmanaged. Loading and applying it is src/app/settings/policy.ts.
 */

export const POLICY_VERSION = 1

export const LOCKABLE_FIELDS = ['cloudProxy', 'region', 'regions'] as const satisfies readonly LockableField[]

export const POLICY_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
export type PolicyLogLevel = (typeof POLICY_LOG_LEVELS)[number]

const proxyMode = z.union(
  [
    z.literal(TransportType.None),
    z.literal(TransportType.UDPProxy),
    z.literal(TransportType.TCPProxy),
    z.literal(TransportType.Auto),
  ],
  { error: 'expected a proxy mode: 0 none, 1 UDP, 2 TCP/TLS 443, 3 automatic' },
)

/** Names of the proxy modes (`setCloudProxy` values) for notices and docs. */
export const PROXY_MODE_NAMES: Record<TransportType, string> = {
  0: 'no proxy',
  1: 'UDP proxy',
  2: 'TCP/TLS 443 proxy',
  3: 'automatic',
}

/**
 * Either `forced` (one mode, always; cloudProxy is then locked) or `allowed` (the modes the user may pick)
 * with an optional `default` that replaces a user choice outside the set. One object rather than a union
 * so that an error names the field (`proxyMode.forced`), not just `proxyMode`.
 */
const ProxyModePolicySchema = z
  .strictObject({
    forced: proxyMode.optional(),
    allowed: z.array(proxyMode).min(1).max(4).optional(),
    default: proxyMode.optional(),
  })
  .superRefine((mode, ctx) => {
    if ((mode.forced === undefined) === (mode.allowed === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of "forced" and "allowed"' })
    }
    if (mode.forced !== undefined && mode.default !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: 'goes with "allowed", not "forced"' })
    }
  })
export type ProxyModePolicy = z.infer<typeof ProxyModePolicySchema>

/** A corporate HTTP proxy (CONNECT) for the TLS 443 traffic of TCP mode, optionally with basic auth. */
export const HttpProxySchema = z.strictObject({
  host: z.string().min(1).max(253),
  port: z.int().min(1).max(65_535),
  username: z.string().min(1).max(256).optional(),
  password: z.string().max(256).optional(),
})
export type HttpProxy = z.infer<typeof HttpProxySchema>

const REGION_AUTO = 'auto'

export const PolicySchema = z
  .strictObject({
    /** Format version; 1 when absent. */
    version: z.literal(POLICY_VERSION).optional(),
    regions: z.array(StrictRegionSchema).min(1).max(64).optional(),
    /** A region id of `regions`, or `auto` (lowest RTT among the reachable regions). */
    defaultRegion: z.string().min(1).max(64).optional(),
    proxyMode: ProxyModePolicySchema.optional(),
    locked: z.array(z.enum(LOCKABLE_FIELDS)).max(LOCKABLE_FIELDS.length).optional(),
    logLevel: z.enum(POLICY_LOG_LEVELS).optional(),
    /** The embedded local stack ("This computer"); default: allowed only when the policy lists no regions. */
    allowEmbeddedStack: z.boolean().optional(),
    httpProxy: HttpProxySchema.optional(),
  })
  .superRefine((policy, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message })
    }
    const ids = (policy.regions ?? []).map((r) => r.id)
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) issue(['regions', i, 'id'], `duplicate region id "${id}"`)
      if (id === REGION_AUTO) issue(['regions', i, 'id'], '"auto" is reserved for automatic region choice')
    })
    if (policy.defaultRegion !== undefined && policy.defaultRegion !== REGION_AUTO) {
      if (policy.regions === undefined) issue(['defaultRegion'], 'needs "regions" (or the value "auto")')
      else if (!ids.includes(policy.defaultRegion)) {
        issue(['defaultRegion'], `"${policy.defaultRegion}" is not the id of one of "regions"`)
      }
    }
    const mode = policy.proxyMode
    const allowed = mode?.allowed
    if (allowed !== undefined) {
      if (new Set(allowed).size !== allowed.length) {
        issue(['proxyMode', 'allowed'], 'lists a mode twice')
      }
      if (mode?.default !== undefined && !allowed.includes(mode.default)) {
        issue(['proxyMode', 'default'], 'must be one of proxyMode.allowed')
      }
    }
    const locked = policy.locked ?? []
    if (new Set(locked).size !== locked.length) issue(['locked'], 'lists a field twice')
    if (locked.includes('cloudProxy') && allowed !== undefined && mode?.default === undefined) {
      issue(['locked'], '"cloudProxy" locked with proxyMode.allowed needs proxyMode.default')
    }
    if (locked.includes('cloudProxy') && mode === undefined) {
      issue(['locked'], '"cloudProxy" locked needs proxyMode (forced, or allowed with a default)')
    }
    if (locked.includes('region') && policy.defaultRegion === undefined) {
      issue(['locked'], '"region" locked needs defaultRegion (a region id or "auto")')
    }
    if (locked.includes('regions') && policy.regions === undefined) {
      issue(['locked'], '"regions" locked needs regions')
    }
    const auth = policy.httpProxy
    if (auth !== undefined && (auth.username === undefined) !== (auth.password === undefined)) {
      issue(['httpProxy'], 'username and password go together (both or neither)')
    }
  })
export type Policy = z.infer<typeof PolicySchema>

/** One problem found in a policy, with the field it names (`regions[0].ports.tcp`). */
export interface PolicyIssue {
  path: string
  message: string
}

export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += out === '' ? String(seg) : `.${String(seg)}`
  }
  return out === '' ? '(top level)' : out
}

export type PolicyParseResult = { ok: true; policy: Policy } | { ok: false; issues: PolicyIssue[] }

/** Validates already-parsed JSON. Every issue is reported, each naming its field. */
export function parsePolicy(input: unknown): PolicyParseResult {
  const result = PolicySchema.safeParse(input, {
    error: (iss) => {
      if (iss.code !== 'invalid_type') return undefined
      return iss.input === undefined ? 'required' : `expected ${iss.expected}`
    },
  })
  if (result.success) return { ok: true, policy: result.data }
  const issues = result.error.issues.map((iss) => {
    const keys = iss.code === 'unrecognized_keys' ? iss.keys : []
    if (keys.length > 0) {
      return { path: formatIssuePath([...iss.path, keys[0]!]), message: `unknown field` }
    }
    return { path: formatIssuePath(iss.path), message: iss.message }
  })
  return { ok: false, issues }
}

export function formatPolicyIssues(issues: readonly PolicyIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ')
}
