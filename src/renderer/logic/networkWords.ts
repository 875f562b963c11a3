import type { RegionView } from '../../shared/ipc'
import { splitTarget, type NetworkCheckReport } from '../../shared/networkCheck'

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

function list(ports: number[]): string {
  if (ports.length <= 1) return ports.join('')
  return `${ports.slice(0, -1).join(', ')} and ${ports.at(-1)!}`
}

/** "UDP 3478 and 7070 (STUN), TLS 443 with the region's certificate, and the session API" with real ports. */
export function checkedEndpointsWords(ports: CheckedPorts): string {
  const parts: string[] = []
  if (ports.udp.length > 0) parts.push(`UDP ${list(ports.udp)} (STUN)`)
  if (ports.tcp.length > 0) parts.push(`TLS ${list(ports.tcp)} with the region's certificate`)
  parts.push('the session API')
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')}, and ${parts.at(-1)!}`
}
