import type { ProbeCheck } from './engine'
import { ErrorCode } from './errors'

/**
 * The "Network check" of the app (issue 6) and the words it shares with `pinhole doctor`: each whitelisted
 * endpoint of every region as reachable / blocked / error, and for each one that a firewall change fixes,
 * the exact rule IT has to add. `runDoctor` (src/engine/doctor.ts, so `pinhole doctor`) takes its rules
 * from here too, so a desktop user and IT read the same rule in the app, the CLI and the ticket.
 */

/** One checked endpoint (the doctor's row): a ProbeCheck plus the rule that fixes it, when one does. */
export interface NetworkCheckRow extends ProbeCheck {
  rule?: string
}

export interface NetworkCheckRegion {
  id: string
  name: string
  proxyHost: string
  /** Every endpoint reachable. */
  ok: boolean
  rows: NetworkCheckRow[]
}

/** What `runNetworkCheck()` returns, and what a diagnostics export carries as the last check. */
export interface NetworkCheckReport {
  /** ISO time the check started. */
  startedAt: string
  durationMs: number
  /** host:port of the corporate HTTP proxy TLS 443 was checked through (never its credentials). */
  httpProxy?: string
  ok: boolean
  regions: NetworkCheckRegion[]
  /** One paragraph for IT: what is blocked and the rules to add, or that nothing needs changing. */
  summary: string
}

export interface RuleContext {
  /** The region's proxy address, exactly as whitelisted. */
  proxyHost: string
  /** host:port of the corporate HTTP proxy the TLS checks went through, when one is configured. */
  httpProxy?: string
}

/** Splits `host:port` (the last colon: an IPv6 host keeps its own). */
export function splitTarget(target: string): { host: string; port: string } {
  const at = target.lastIndexOf(':')
  return at < 0 ? { host: target, port: '' } : { host: target.slice(0, at), port: target.slice(at + 1) }
}

function isUdp(check: ProbeCheck): boolean {
  return check.endpoint === 'udp' || check.endpoint === 'udpAlt'
}

/**
 * The firewall rule that makes this endpoint answer, or undefined when it answers or no firewall change
 * fixes it (wrong proxy credentials, a foreign service on the port: the row's detail says what to do).
 */
export function firewallRule(check: ProbeCheck, context: RuleContext): string | undefined {
  const { port } = splitTarget(check.target)
  const host = context.proxyHost
  // Only TLS 443 and the session API go through the corporate proxy; UDP always goes direct.
  const via = isUdp(check) ? undefined : context.httpProxy
  if (check.status === 'reachable') return undefined
  if (check.errorCode === ErrorCode.TlsFingerprintMismatch) {
    return `exempt ${host} port ${port} from TLS inspection`
  }
  if (via !== undefined) {
    const proxy = splitTarget(via)
    switch (check.errorCode) {
      case ErrorCode.HttpProxyUnreachable:
        return `allow TCP from desktops to ${proxy.host} port ${proxy.port} (the corporate HTTP proxy)`
      case ErrorCode.HttpProxyConnectRefused:
        return `allow HTTP CONNECT through the corporate proxy ${via} to ${host} port ${port}`
      case ErrorCode.ProxyTlsUnreachable:
        return `allow TCP from the corporate HTTP proxy ${via} to ${host} port ${port}`
      default:
        return undefined
    }
  }
  if (check.status !== 'blocked') return undefined
  return `allow ${isUdp(check) ? 'UDP' : 'TCP'} from desktops to ${host} port ${port}`
}

/** The rows with their rules (the same rule twice — TLS and the session API share 443 — is kept once in the summary). */
export function withRules(checks: readonly ProbeCheck[], context: RuleContext): NetworkCheckRow[] {
  return checks.map((check) => {
    // A rule the checks came with (a stand-in doctor's) is replaced: this function is the one wording.
    const { rule: _previous, ...row } = check as NetworkCheckRow
    const rule = firewallRule(row, context)
    return rule === undefined ? row : { ...row, rule }
  })
}

/** The paragraph for IT under the tables. */
export function networkCheckSummary(regions: readonly NetworkCheckRegion[]): string {
  if (regions.length === 0) return 'No region is configured: there is nothing to check.'
  const rows = regions.flatMap((region) => region.rows.map((row) => ({ region, row })))
  const bad = rows.filter(({ row }) => row.status !== 'reachable')
  const scope = `${rows.length} whitelisted endpoint${rows.length === 1 ? '' : 's'} in ${regions.length} region${regions.length === 1 ? '' : 's'}`
  if (bad.length === 0) return `All ${scope} answer from this computer: no firewall change is needed.`
  const named = bad.map(({ region, row }) => `${row.check} of ${region.name} (${row.target}) ${row.status}`)
  const rules = [...new Set(bad.flatMap(({ row }) => (row.rule === undefined ? [] : [row.rule])))]
  const others = bad.filter(({ row }) => row.rule === undefined).length
  const verb = bad.length === 1 ? 'does' : 'do'
  const parts = [`${bad.length} of ${scope} ${verb} not answer from this computer: ${named.join('; ')}.`]
  if (rules.length > 0) parts.push(`Firewall rules to add: ${rules.join('; ')}.`)
  if (others > 0) {
    parts.push(
      `${others} problem${others === 1 ? '' : 's'} no firewall rule fixes: see the detail in the table.`,
    )
  }
  return parts.join(' ')
}
