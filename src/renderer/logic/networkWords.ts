import type { RegionView } from '../../shared/ipc'
import {
  firewallRuleOf,
  rowsByHost,
  splitTarget,
  type FirewallRule,
  type NetworkCheckRegion,
  type NetworkCheckReport,
  type NetworkCheckRow,
} from '../../shared/networkCheck'
import { phrase, say, type Lang, type Phrase } from '../i18n/phrase'

/**
 * The Network check's words in the language shown (`network` catalogue). The report carries the English
 * of src/shared/networkCheck.ts (the export and the CLI's doctor use it); the view words the same
 * decisions again from the report's data: the firewall rule of each row (`firewallRuleOf`), the region's
 * verdict, the headline and the things to do.
 */

/** The ports a network check probes, by protocol, each once and in order. */
export interface CheckedPorts {
  udp: number[]
  tcp: number[]
}

const unique = (ports: number[]): number[] => [...new Set(ports)].sort((a, b) => a - b)

/** From the last report: the ports its rows really probed. */
export function portsOfReport(report: NetworkCheckReport): CheckedPorts {
  const rows = report.regions.flatMap((region) => region.rows)
  const portOf = (target: string): number => Number(splitTarget(target).port)
  return {
    udp: unique(
      rows.filter((r) => r.endpoint === 'udp' || r.endpoint === 'udpAlt').map((r) => portOf(r.target)),
    ),
    tcp: unique(rows.filter((r) => r.endpoint === 'tls').map((r) => portOf(r.target))),
  }
}

/** Before a check: the ports of the regions in force (what the check will probe). */
export function portsOfRegions(regions: readonly RegionView[]): CheckedPorts {
  return {
    udp: unique(regions.flatMap((region) => region.ports.udp)),
    tcp: unique(regions.map((region) => region.ports.tcp)),
  }
}

/** "a, b and c" with the catalogue's separator and last joint (`pair`: "{{most}} and {{last}}"). */
function joined(lang: Lang, items: readonly string[], separator: string, pair: string): string {
  if (items.length <= 1) return items.join('')
  return lang.t(pair, { most: items.slice(0, -1).join(lang.t(separator)), last: items.at(-1)! })
}

/** "UDP 3478 and 7070 (STUN), TLS 443 with the region's certificate, and the session API" with real ports. */
export function checkedEndpointsWords(lang: Lang, ports: CheckedPorts): string {
  const list = (numbers: number[]): string =>
    joined(lang, numbers.map(String), 'network:endpoints.portSeparator', 'network:endpoints.ports')
  const parts: string[] = []
  if (ports.udp.length > 0) parts.push(lang.t('network:endpoints.udp', { ports: list(ports.udp) }))
  if (ports.tcp.length > 0) parts.push(lang.t('network:endpoints.tls', { ports: list(ports.tcp) }))
  parts.push(lang.t('network:endpoints.session'))
  return joined(lang, parts, 'network:endpoints.partSeparator', 'network:endpoints.parts')
}

/** What the rules of a report's rows depend on besides the row: its region's address, the HTTP proxy. */
function ruleOf(report: NetworkCheckReport, region: NetworkCheckRegion, row: NetworkCheckRow) {
  const context = {
    proxyHost: region.proxyHost,
    ...(report.httpProxy ? { httpProxy: report.httpProxy } : {}),
  }
  return firewallRuleOf(row, context)
}

export function rulePhrase(rule: FirewallRule): Phrase {
  const { kind, ...values } = rule
  return phrase(`network:rule.${kind}`, values)
}

/** The rule column: the rule, or for what no rule fixes, who acts instead; null: nothing to say. */
export function ruleCell(report: NetworkCheckReport, region: NetworkCheckRegion, row: NetworkCheckRow) {
  const rule = ruleOf(report, region, row)
  if (rule !== undefined) return rulePhrase(rule)
  if (row.status === 'reachable') return null
  if (row.status === 'refused' || row.status === 'unresolved') return phrase(`network:ruleNone.${row.status}`)
  return phrase('network:ruleNone.other')
}

/** 'UDP 3478', 'TLS 443' stay as they are; the session API is named in the language shown. */
export function endpointName(lang: Lang, row: Pick<NetworkCheckRow, 'endpoint' | 'check'>): string {
  return row.endpoint === 'session' ? lang.t('network:endpointName.session') : row.check
}

/** One region's verdict in a few words (the table caption). */
export function verdictPhrase(report: NetworkCheckReport, region: NetworkCheckRegion): Phrase {
  if (region.ok) return phrase('network:verdict.ok')
  if (region.rows.some((row) => ruleOf(report, region, row) !== undefined))
    return phrase('network:verdict.firewall')
  if (region.rows.some((row) => row.status === 'refused')) return phrase('network:verdict.refused')
  if (region.rows.some((row) => row.status === 'unresolved')) return phrase('network:verdict.unresolved')
  return phrase('network:verdict.other')
}

/** The headline and one item per thing to do, as networkCheckOutline decides them. */
export function outlinePhrases(
  lang: Lang,
  report: NetworkCheckReport,
): { headline: Phrase; actions: Phrase[] } {
  const { regions } = report
  if (regions.length === 0) return { headline: phrase('network:outline.noRegion'), actions: [] }
  const rows = regions.flatMap((region) => region.rows.map((row) => ({ region, row })))
  const bad = rows.filter(({ row }) => row.status !== 'reachable')
  const scope = phrase('network:outline.scope', {
    endpoints: phrase('network:outline.endpoints', { count: rows.length }),
    regions: phrase('network:outline.regions', { count: regions.length }),
  })
  if (bad.length === 0) return { headline: phrase('network:outline.allAnswer', { scope }), actions: [] }
  const rules = [
    ...new Set(
      bad.flatMap(({ region, row }) => {
        const rule = ruleOf(report, region, row)
        return rule === undefined ? [] : [say(lang.t, rulePhrase(rule))]
      }),
    ),
  ]
  const actions: Phrase[] = []
  if (rules.length > 0) {
    actions.push(
      phrase('network:outline.rules', { rules: rules.join(lang.t('network:outline.ruleSeparator')) }),
    )
  }
  // A region with several proxy hosts: each host its own sentence (one may run while another does not).
  for (const [host, rows] of regions.flatMap((region) => rowsByHost(region.proxyHost, region.rows))) {
    const refused = rows.filter((row) => row.status === 'refused').map((row) => endpointName(lang, row))
    if (refused.length > 0) {
      const checks = refused.join(lang.t('network:outline.checkSeparator'))
      actions.push(phrase('network:outline.refused', { host, checks }))
    }
    if (rows.some((row) => row.status === 'unresolved')) {
      actions.push(phrase('network:outline.unresolved', { host }))
    }
  }
  const others = bad.filter(
    ({ region, row }) => row.status === 'error' && !ruleOf(report, region, row),
  ).length
  if (others > 0) actions.push(phrase('network:outline.others', { count: others }))
  return { headline: phrase('network:outline.notReachable', { count: bad.length, scope }), actions }
}
