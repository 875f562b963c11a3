import type { ProbeCheck, Region } from '../shared/engine'
import { ErrorCode } from '../shared/errors'
import { probeSessionApi, probeTls, probeUdp, type ProbeOptions } from './probe'

/**
 * `pinhole doctor`: checks each whitelisted endpoint of a region from this desktop and, for each one that
 * is blocked, names the exact firewall rule IT has to add.
 */

export interface DoctorRow extends ProbeCheck {
  /** The rule that fixes a blocked or intercepted endpoint, in words IT can act on. */
  rule?: string
}

export async function runDoctor(region: Region, options: ProbeOptions = {}): Promise<DoctorRow[]> {
  const { proxyHost: host, ports } = region
  const checks = await Promise.all([
    probeUdp(host, ports.udp[0], 'udp', options),
    probeUdp(host, ports.udp[1], 'udpAlt', options),
    probeTls(region, options),
    probeSessionApi(region, options),
  ])
  return checks.map((check) => withRule(check, host))
}

function withRule(check: ProbeCheck, host: string): DoctorRow {
  const port = check.target.slice(check.target.lastIndexOf(':') + 1)
  if (check.status === 'blocked') {
    const protocol = check.endpoint === 'udp' || check.endpoint === 'udpAlt' ? 'UDP' : 'TCP'
    return { ...check, rule: `allow ${protocol} from desktops to ${host} port ${port}` }
  }
  if (check.errorCode === ErrorCode.TlsFingerprintMismatch) {
    return { ...check, rule: `exempt ${host} port ${port} from TLS inspection` }
  }
  if (check.errorCode === ErrorCode.HttpProxyConnectRefused) {
    return { ...check, rule: `allow HTTP CONNECT to ${host} port ${port} on the corporate proxy` }
  }
  return check
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
