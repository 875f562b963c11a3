import { regionAt, regionHosts, type Region } from '../../shared/engine'
import {
  notFirewallNotes,
  splitTarget,
  uniqueRules,
  withRules,
  type NetworkCheckRow,
} from '../../shared/networkCheck'
import { describeHttpProxy } from './httpProxy'
import { probeSessionApi, probeTls, probeUdp, type ProbeOptions } from './probe'

/**
 * `pinhole doctor`: checks each whitelisted endpoint of a region from this desktop and, for each one that
 * a firewall change fixes (blocked: no answer), names the exact rule IT has to add; a refused endpoint or a
 * name that does not resolve gets no rule but says who acts. The rules are `firewallRule()`'s
 * (src/shared/networkCheck.ts), the app's "Network check" words, including the corporate HTTP proxy's
 * when the checks go through one.
 */

/** One checked endpoint, with the rule that fixes it (in words IT can act on) when one does. */
export type DoctorRow = NetworkCheckRow

/** Every proxy host of the region (`proxyHosts`), one after another: its four rows, then the next host's. */
export async function runDoctor(region: Region, options: ProbeOptions = {}): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = []
  for (const host of regionHosts(region)) rows.push(...(await doctorHost(regionAt(region, host), options)))
  return rows
}

async function doctorHost(region: Region, options: ProbeOptions): Promise<DoctorRow[]> {
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

/** Lines of the table stay within this many columns: long details wrap under their own column. */
export const DOCTOR_TABLE_COLUMNS = 100

/**
 * A plain-text table (fixed-width columns, the detail wrapped), then the rules to add (each once: TLS and
 * the session API share the TCP port), then what no firewall rule fixes (refused, unresolved) and who acts.
 */
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
  const indent = widths.slice(0, -1).reduce((sum, width) => sum + width + 2, 0)
  const detailWidth = Math.max(30, DOCTOR_TABLE_COLUMNS - indent)
  const line = (values: string[]): string[] => {
    const [first, ...more] = wrapText(values.at(-1)!, detailWidth)
    const head = values
      .slice(0, -1)
      .map((value, i) => value.padEnd(widths[i]!))
      .concat(first ?? '')
      .join('  ')
      .trimEnd()
    return [head, ...more.map((text) => `${' '.repeat(indent)}${text}`)]
  }
  const dashes = widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? Math.min(w, detailWidth) : w))
  const lines = [...line(header), ...line(dashes), ...cells.flatMap(line)]
  const rules = uniqueRules(rows)
  if (rules.length > 0) lines.push('', 'Firewall rules to add:', ...rules.map((rule) => `  ${rule}`))
  const host = rows[0] === undefined ? '' : splitTarget(rows[0].target).host
  const notes = notFirewallNotes(host, rows)
  if (notes.length > 0) {
    lines.push('', 'Not a firewall problem:', ...notes.flatMap((note) => indented(wrapText(note, 96))))
  }
  if (rows.every((row) => row.status === 'reachable')) lines.push('', 'Every whitelisted endpoint answers.')
  return lines.join('\n')
}

function indented(lines: string[]): string[] {
  return lines.map((text, i) => `${i === 0 ? '  ' : '    '}${text}`)
}

/**
 * `text` in lines of at most `width` characters, broken at spaces. A word longer than a whole line (a
 * certificate fingerprint) is broken after a colon, or anywhere when it has none.
 */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    let rest = word
    while (rest.length > 0) {
      const glue = line === '' ? '' : ' '
      if (line.length + glue.length + rest.length <= width) {
        line += glue + rest
        break
      }
      if (rest.length <= width) {
        // Fits on a line of its own: start one rather than split the word.
        lines.push(line)
        line = ''
        continue
      }
      const room = width - line.length - glue.length
      const colon = room > 0 ? rest.lastIndexOf(':', room - 1) + 1 : 0
      const cut = colon > 0 ? colon : line === '' ? width : 0
      if (cut > 0) {
        line += glue + rest.slice(0, cut)
        rest = rest.slice(cut)
      }
      lines.push(line)
      line = ''
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line)
  return lines
}
