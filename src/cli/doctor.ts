import { regionHosts, type Region } from '../shared/engine'
import { type DoctorRow, formatDoctorTable, type ProbeOptions, runDoctor } from '../engine'
import { ErrorCode } from '../shared/errors'
import { defaultRegionName, FLAG_REGION_ID, parseDoctorArgs } from './args'
import { ExitCode, type CliIo } from './io'

/**
 * `pinhole doctor`: checks every whitelisted endpoint of a region (UDP 3478, UDP 7070, TLS 443, the session
 * API) from this desktop and prints reachable / blocked / refused / unresolved / error, the RTT and, for
 * each blocked one, the firewall rule IT has to add. Exit 0 when everything answers, 3 when something does
 * not, 2 on a usage error.
 */

export const DOCTOR_USAGE = `Usage: pinhole doctor (--regions FILE [--region ID] | --proxy HOST [options]) [--http-proxy URL] [--json]

Checks each whitelisted endpoint of a proxy region from this computer: UDP 3478 and 7070 (STUN Binding),
TLS 443 (with the region's pinned certificate), and the session API on 443. Prints each one's status and
round trip: reachable; blocked (no answer: the exact firewall rule to add is printed); refused (nothing
listens there: the proxy is not running, no firewall rule fixes it); unresolved (the name has no address,
DNS); error (TLS interception, an untrusted certificate, another service).

Regions:
  --regions FILE        JSON list of regions ({id, name, proxyHost | proxyHosts, ports: {udp: [a, b], tcp},
                        tlsFingerprintSha256 | caPem}); every region is checked unless --region names one,
                        every proxy host of a region one after another
  --region ID           the region to check
  --proxy HOST          or one region given by flags:
  --udp-ports A,B         UDP ports (default 3478,7070)
  --tcp-port N            TLS port (default 443)
  --fingerprint AB:CD:…   SHA-256 fingerprint of the proxy's certificate, or
  --ca FILE               a CA (PEM) that signs it; neither: the system CAs
  --name TEXT             a display name

Corporate proxy:
  --http-proxy URL      http://[user:password@]host:port — check TLS 443 and the session API through this
                        HTTP CONNECT proxy (as "pinhole join --http-proxy" would use it); UDP goes direct

Output:
  --json                one JSON object: {ok, regions: [{id, name, proxyHost, proxyHosts?, ok, rows: [...]}]}
  -h, --help            this text

Exit codes: 0 every endpoint reachable; 3 at least one not reachable; 2 usage error.
`

export interface DoctorReport {
  ok: boolean
  regions: {
    id: string
    name: string
    proxyHost: string
    /** Several proxy hosts: all of them, each checked (rows host by host). */
    proxyHosts?: string[]
    ok: boolean
    rows: DoctorRow[]
  }[]
}

/** Test seams. */
export interface DoctorOptions {
  probe?: ProbeOptions
  doctor?: (region: Region, options: ProbeOptions) => Promise<DoctorRow[]>
}

export async function doctorCommand(
  argv: readonly string[],
  io: CliIo,
  options: DoctorOptions = {},
): Promise<ExitCode> {
  const args = parseDoctorArgs(argv, io.readFile)
  if (args.help) {
    io.stdout(DOCTOR_USAGE)
    return ExitCode.Ok
  }
  const check = options.doctor ?? runDoctor
  // One region at a time: concurrent probes of several regions would share this desktop's uplink and skew
  // each other's round trips.
  const report: DoctorReport = { ok: true, regions: [] }
  const hints: string[][] = []
  for (const region of args.regions) {
    const probe = { ...options.probe, ...(args.httpProxy ? { httpProxy: args.httpProxy } : {}) }
    const rows = await check(region, probe)
    const ok = rows.every((row) => row.status === 'reachable')
    report.ok &&= ok
    const hosts = regionHosts(region)
    report.regions.push({
      id: region.id,
      name: region.name,
      proxyHost: region.proxyHost,
      ...(hosts.length > 1 ? { proxyHosts: hosts } : {}),
      ok,
      rows,
    })
    hints.push(pinHints(region, rows))
  }
  io.stdout(args.json ? `${JSON.stringify(report)}\n` : formatReport(report, hints))
  return report.ok ? ExitCode.Ok : ExitCode.Blocked
}

/**
 * An untrusted certificate on a region that pins nothing (no --fingerprint, no --ca) is usually the proxy's
 * own self-signed one: say how to pin it, not just OpenSSL's code.
 */
function pinHints(region: Region, rows: readonly DoctorRow[]): string[] {
  const untrusted = rows.some((row) => row.errorCode === ErrorCode.TlsCertificateUntrusted)
  if (!untrusted || region.tlsFingerprintSha256 !== undefined || region.caPem !== undefined) return []
  return [
    "Hint: the proxy's certificate is not signed by a CA this computer trusts (often the self-signed one",
    '  the proxy generates when none is configured). Pin it: --fingerprint AB:CD:… (its SHA-256',
    '  fingerprint, which the proxy logs as tlsFingerprint in its "started" line) or --ca FILE (the CA',
    '  that signs it); in a --regions file, tlsFingerprintSha256 or caPem.',
  ]
}

/** One table per region, titled with its id, name and proxy; each region's hints under its table. */
export function formatReport(report: DoctorReport, hints: readonly string[][] = []): string {
  const sections = report.regions.map((region, i) => {
    const extra = hints[i]?.length ? `\n\n${hints[i]!.join('\n')}` : ''
    return `${regionTitle(region)}\n\n${formatDoctorTable(region.rows)}${extra}\n`
  })
  return sections.join('\n')
}

/**
 * "Region lab (Lab DMZ), proxy 10.99.2.2"; a region given by flags alone is just "Proxy 127.0.0.1", not
 * its made-up id and name.
 */
function regionTitle(region: DoctorReport['regions'][number]): string {
  const named = region.name !== region.id && region.name !== defaultRegionName(region.proxyHost)
  if (region.id === FLAG_REGION_ID && !named) return `Proxy ${region.proxyHost}`
  const proxies = region.proxyHosts ? `proxies ${region.proxyHosts.join(', ')}` : `proxy ${region.proxyHost}`
  return `Region ${region.id}${named ? ` (${region.name})` : ''}, ${proxies}`
}
