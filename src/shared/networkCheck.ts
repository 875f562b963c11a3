import type { ProbeCheck } from './engine'
import { ErrorCode } from './errors'

/**
 * The "Network check" of the app (issue 6) and the words it shares with `pinhole doctor`: each whitelisted
 * endpoint of every region as reachable / blocked / refused / unresolved / error, and for each one that a
 * firewall change fixes (blocked: no answer), the exact rule IT has to add. A refusal (nothing listens: the
 * proxy is not running there) or a name that does not resolve gets no rule but says who acts instead. `runDoctor` (src/engine/route/doctor.ts, so `pinhole doctor`) takes its rules
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
  /** A region with several proxy hosts: all of them; `rows` holds each host's checks, host by host. */
  proxyHosts?: string[]
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
  /** The region's proxy address, exactly as whitelisted (a row's own target names its host first). */
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
 * A firewall rule as data, so that each reader words it in its own language (the app's catalogues,
 * src/renderer/i18n) from the same decision; `ruleWords` is the English the CLI, the export and IT read.
 */
export type FirewallRule =
  | { kind: 'tlsInspection'; host: string; port: string }
  | { kind: 'httpProxyReach'; proxyHost: string; proxyPort: string }
  | { kind: 'httpConnect'; via: string; host: string; port: string }
  | { kind: 'fromHttpProxy'; via: string; host: string; port: string }
  | { kind: 'allow'; protocol: 'UDP' | 'TCP'; host: string; port: string }

/**
 * The firewall rule that makes this endpoint answer, or undefined when it answers or no firewall change
 * fixes it (wrong proxy credentials, a foreign service on the port: the row's detail says what to do).
 */
export function firewallRuleOf(check: ProbeCheck, context: RuleContext): FirewallRule | undefined {
  const target = splitTarget(check.target)
  const { port } = target
  // A region with several proxy hosts checks each one: the rule names the host the row checked.
  const host = target.host === '' ? context.proxyHost : target.host
  // Only TLS 443 and the session API go through the corporate proxy; UDP always goes direct.
  const via = isUdp(check) ? undefined : context.httpProxy
  if (check.status === 'reachable' || check.status === 'refused' || check.status === 'unresolved') {
    return undefined
  }
  if (check.errorCode === ErrorCode.TlsFingerprintMismatch) return { kind: 'tlsInspection', host, port }
  if (via !== undefined) {
    const proxy = splitTarget(via)
    switch (check.errorCode) {
      case ErrorCode.HttpProxyUnreachable:
        return { kind: 'httpProxyReach', proxyHost: proxy.host, proxyPort: proxy.port }
      case ErrorCode.HttpProxyConnectRefused:
        return { kind: 'httpConnect', via, host, port }
      case ErrorCode.ProxyTlsUnreachable:
        return { kind: 'fromHttpProxy', via, host, port }
      default:
        return undefined
    }
  }
  if (check.status !== 'blocked') return undefined
  return { kind: 'allow', protocol: isUdp(check) ? 'UDP' : 'TCP', host, port }
}

/** The rule in English (the app's `network:rule` catalogue says the same in every language). */
export function ruleWords(rule: FirewallRule): string {
  switch (rule.kind) {
    case 'tlsInspection':
      return `exempt ${rule.host} port ${rule.port} from TLS inspection`
    case 'httpProxyReach':
      return `allow TCP from desktops to ${rule.proxyHost} port ${rule.proxyPort} (the corporate HTTP proxy)`
    case 'httpConnect':
      return `allow HTTP CONNECT through the corporate proxy ${rule.via} to ${rule.host} port ${rule.port}`
    case 'fromHttpProxy':
      return `allow TCP from the corporate HTTP proxy ${rule.via} to ${rule.host} port ${rule.port}`
    case 'allow':
      return `allow ${rule.protocol} from desktops to ${rule.host} port ${rule.port}`
  }
}

/** The rule in English, or undefined (see `firewallRuleOf`). */
export function firewallRule(check: ProbeCheck, context: RuleContext): string | undefined {
  const rule = firewallRuleOf(check, context)
  return rule === undefined ? undefined : ruleWords(rule)
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

/** Each rule once, in row order (TLS and the session API share the TCP port, so often the same rule). */
export function uniqueRules(rows: readonly NetworkCheckRow[]): string[] {
  return [...new Set(rows.flatMap((row) => (row.rule === undefined ? [] : [row.rule])))]
}

/**
 * The rows by the host they checked, in row order. Rows of one host only: that is the region's
 * `proxyHost`, named as written.
 */
export function rowsByHost(
  proxyHost: string,
  rows: readonly NetworkCheckRow[],
): [host: string, rows: NetworkCheckRow[]][] {
  const byHost = new Map<string, NetworkCheckRow[]>()
  for (const row of rows) {
    const host = splitTarget(row.target).host || proxyHost
    byHost.set(host, [...(byHost.get(host) ?? []), row])
  }
  return byHost.size <= 1 ? [[proxyHost, [...rows]]] : [...byHost]
}

/**
 * For one region's rows, what no firewall rule fixes, one sentence per cause and host, saying who acts:
 * refused endpoints (the proxy is not running there: whoever runs it), a name that does not resolve (DNS).
 */
export function notFirewallNotes(proxyHost: string, rows: readonly NetworkCheckRow[]): string[] {
  return rowsByHost(proxyHost, rows).flatMap(([host, own]) => hostNotes(host, own))
}

function hostNotes(proxyHost: string, rows: readonly NetworkCheckRow[]): string[] {
  const notes: string[] = []
  const refused = rows.filter((row) => row.status === 'refused').map((row) => row.check)
  if (refused.length > 0) {
    notes.push(
      `${proxyHost} refused ${refused.join(', ')}: nothing listens there, so the Pinhole proxy is not ` +
        'running on that address (or not on those ports). No firewall rule fixes this: contact whoever ' +
        'runs the proxy.',
    )
  }
  if (rows.some((row) => row.status === 'unresolved')) {
    notes.push(
      `${proxyHost} does not resolve (DNS): check the region's proxy address for a typo, and that this ` +
        "computer's DNS server knows the name. No firewall rule fixes this.",
    )
  }
  return notes
}

/** One region's verdict in a few words (the Network check's table caption). */
export function regionVerdict(region: NetworkCheckRegion): string {
  if (region.ok) return 'every endpoint answers'
  if (region.rows.some((row) => row.rule !== undefined)) return 'needs IT (firewall)'
  if (region.rows.some((row) => row.status === 'refused')) return 'proxy not running: contact whoever runs it'
  if (region.rows.some((row) => row.status === 'unresolved')) return 'proxy name does not resolve (DNS)'
  return 'not reachable: see the details'
}

/**
 * What a person reads at the top of the Network check: one line of verdict, then one item per thing to do
 * (the firewall rules, who to contact, DNS). The table names every endpoint, so the headline does not.
 */
export interface NetworkCheckOutline {
  headline: string
  actions: string[]
}

interface Tally {
  scope: string
  bad: { region: NetworkCheckRegion; row: NetworkCheckRow }[]
}

function tally(regions: readonly NetworkCheckRegion[]): Tally {
  const rows = regions.flatMap((region) => region.rows.map((row) => ({ region, row })))
  const bad = rows.filter(({ row }) => row.status !== 'reachable')
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  return {
    scope: `${plural(rows.length, 'whitelisted endpoint')} in ${plural(regions.length, 'region')}`,
    bad,
  }
}

function actionsOf(regions: readonly NetworkCheckRegion[], bad: Tally['bad']): string[] {
  const rules = uniqueRules(bad.map(({ row }) => row))
  const actions = rules.length > 0 ? [`Firewall rules to add: ${rules.join('; ')}.`] : []
  actions.push(...regions.flatMap((region) => notFirewallNotes(region.proxyHost, region.rows)))
  const others = bad.filter(({ row }) => row.rule === undefined && row.status === 'error').length
  if (others > 0) {
    actions.push(
      `${others} problem${others === 1 ? '' : 's'} no firewall rule fixes: see the detail in the table.`,
    )
  }
  return actions
}

const NO_REGION = 'No region is configured: there is nothing to check.'

/** The verdict and the things to do, for the screen. */
export function networkCheckOutline(regions: readonly NetworkCheckRegion[]): NetworkCheckOutline {
  if (regions.length === 0) return { headline: NO_REGION, actions: [] }
  const { scope, bad } = tally(regions)
  if (bad.length === 0) {
    return { headline: `All ${scope} answer from this computer: no firewall change is needed.`, actions: [] }
  }
  const verb = bad.length === 1 ? 'is' : 'are'
  return {
    headline: `${bad.length} of ${scope} ${verb} not reachable from this computer.`,
    actions: actionsOf(regions, bad),
  }
}

/** The paragraph for IT (the export, the log): the outline with every unreachable endpoint named. */
export function networkCheckSummary(regions: readonly NetworkCheckRegion[]): string {
  if (regions.length === 0) return NO_REGION
  const { scope, bad } = tally(regions)
  if (bad.length === 0) return networkCheckOutline(regions).headline
  const named = bad.map(({ region, row }) => `${row.check} of ${region.name} (${row.target}) ${row.status}`)
  const verb = bad.length === 1 ? 'is' : 'are'
  const first = `${bad.length} of ${scope} ${verb} not reachable from this computer: ${named.join('; ')}.`
  return [first, ...actionsOf(regions, bad)].join(' ')
}
