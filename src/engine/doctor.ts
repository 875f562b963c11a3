import type { Region } from '../shared/engine'
import { withRules, type NetworkCheckRow } from '../shared/networkCheck'
import { describeHttpProxy } from './httpProxy'
import { probeSessionApi, probeTls, probeUdp, type ProbeOptions } from './probe'

/**
 * `pinhole doctor`: checks each whitelisted endpoint of a region from this desktop and, for each one that
 * a firewall change fixes, names the exact rule IT has to add. The rules are `firewallRule()`'s
 * (src/shared/networkCheck.ts), the app's "Network check" words, including the corporate HTTP proxy's
 * when the checks go through one.
 */

/** One checked endpoint, with the rule that fixes it (in words IT can act on) when one does. */
export type DoctorRow = NetworkCheckRow

export async function runDoctor(region: Region, options: ProbeOptions = {}): Promise<DoctorRow[]> {
  const { proxyHost: host, ports } = region
  const checks = await Promise.all([
    probeUdp(host, ports.udp[0], 'udp', options),
    probeUdp(host, ports.udp[1], 'udpAlt', options),
    probeTls(region, options),
    probeSessionApi(region, options),
  ])
  const httpProxy = options.httpProxy ? describeHttpProxy(options.httpProxy) : undefined
  return withRules(checks, { proxyHost: host, ...(httpProxy !== undefined ? { httpProxy } : {}) })
}

/** A plain-text table (fixed-width columns), then the rules to add, one a line. */
export function formatDoctorTable(rows: readonly DoctorRow[]): string {
  const header = ['check', 'target', 'status', 'rtt', 'detail']
  const cells = rows.map((row) => [
    row.check,
    row.target,
    row.status,
    row.rttMs === undefined ? '-' : `${row.rttMs.toFixed(1)} ms`,
    row.detail,
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)))
  const line = (values: string[]): string =>
    values
      .map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const lines = [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)]
  const rules = rows.flatMap((row) => (row.rule === undefined ? [] : [row.rule]))
  if (rules.length > 0) lines.push('', 'Firewall rules to add:', ...rules.map((rule) => `  ${rule}`))
  else if (rows.every((row) => row.status === 'reachable'))
    lines.push('', 'Every whitelisted endpoint answers.')
  return lines.join('\n')
}
