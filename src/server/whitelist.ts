import { readFileSync } from 'node:fs'
import { RegionSchema, regionHosts, type Region } from '../shared/engine'
import type { ServerConfig } from './config'

/** One firewall rule IT opens: desktops → proxy. */
export interface WhitelistRule {
  /** With a regions file (`--regions`): the region whose proxy host this is. */
  region?: string
  destination: string
  protocol: 'UDP' | 'TCP'
  port: number
  purpose: string
}

/** Something that must stay closed to desktops. */
export interface ClosedPort {
  what: string
  protocol: 'UDP' | 'TCP'
  /** A single port, or `min-max`. */
  ports: string
  reason: string
}

/** What the proxy itself connects to (the DMZ's outbound rules). */
export interface ProxyOutbound {
  destination: string
  protocol: 'UDP' | 'TCP'
  ports: string
  purpose: string
}

/** What the conference server accepts from the proxies (the internal firewall's rules). */
export interface ConferenceInbound {
  /** The address this server listens or is announced on. */
  destination: string
  protocol: 'UDP' | 'TCP'
  ports: string
  purpose: string
}

export interface WhitelistReport {
  /** The proxy's region; null when this config runs no proxy. */
  region: string | null
  rules: WhitelistRule[]
  doNotOpen: ClosedPort[]
  proxyOutbound: ProxyOutbound[]
  conferenceInbound: ConferenceInbound[]
  warnings: string[]
}

const TCP_PURPOSE = 'TLS: TURN-over-TLS, HTTPS session API, WebSocket signaling; plain TURN-over-TCP'

/** Desktops → proxy rules, in the order of docs/architecture.md's port table. Empty when no proxy runs. */
export function whitelistRules(config: ServerConfig): WhitelistRule[] {
  const { proxy } = config
  if (proxy === undefined || !proxy.enabled) return []
  return hostRules(proxy.publicAddress, proxy.ports.udp, proxy.ports.tcp)
}

/**
 * Desktops → every proxy host of every region of a regions file (what desktops are given: several
 * proxies per region share its ports), region by region, host by host.
 */
export function regionWhitelistRules(regions: readonly Region[]): WhitelistRule[] {
  return regions.flatMap((region) =>
    regionHosts(region).flatMap((host) =>
      hostRules(host, region.ports.udp, region.ports.tcp).map((rule) => ({ region: region.id, ...rule })),
    ),
  )
}

function hostRules(destination: string, udpPorts: readonly number[], tcp: number): WhitelistRule[] {
  const [first] = udpPorts
  const udp = udpPorts.map((port, i): WhitelistRule => ({
    destination,
    protocol: 'UDP',
    port,
    purpose:
      i === 0
        ? 'STUN/TURN (media relay)'
        : `STUN/TURN (media relay), alternate port for networks that block ${first}`,
  }))
  return [...udp, { destination, protocol: 'TCP', port: tcp, purpose: TCP_PURPOSE }]
}

/** What a regions file gets wrong about this proxy: desktops would never reach it, or on other ports. */
function regionFileWarnings(proxy: NonNullable<ServerConfig['proxy']>, regions: readonly Region[]): string[] {
  const region = regions.find((r) => r.id === proxy.region)
  if (region === undefined) {
    return [`proxy.region "${proxy.region}" is not in the regions file: no desktop uses this proxy`]
  }
  const warnings: string[] = []
  const hosts = regionHosts(region)
  if (!hosts.includes(proxy.publicAddress)) {
    warnings.push(
      `proxy.publicAddress ${proxy.publicAddress} is not a host of region "${region.id}" in the regions ` +
        `file (${hosts.join(', ')}): no desktop uses this proxy`,
    )
  }
  const same =
    proxy.ports.tcp === region.ports.tcp && proxy.ports.udp.join(',') === region.ports.udp.join(',')
  if (!same) {
    warnings.push(
      `region "${region.id}" lists UDP ${region.ports.udp.join(', ')} and TCP ${region.ports.tcp}, this ` +
        `proxy listens on UDP ${proxy.ports.udp.join(', ')} and TCP ${proxy.ports.tcp}: every host of a ` +
        'region serves the same ports',
    )
  }
  return warnings
}

function upstreamEndpoint(url: string): { host: string; port: string } {
  const u = new URL(url)
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  return { host, port: u.port !== '' ? u.port : u.protocol === 'wss:' ? '443' : '80' }
}

/**
 * Where the proxy's signaling goes: `proxy.signal.upstream`; with a cluster (docs/scaling.md), the node
 * each route ticket names — a node's signaling address is its media address, which `proxy.peers.allow`
 * must hold — and the Redis that places the channels.
 */
function signalingOutbound(
  proxy: NonNullable<ServerConfig['proxy']>,
  cluster: ServerConfig['cluster'],
): ProxyOutbound[] {
  if (cluster === undefined) {
    if (proxy.signal.upstream === undefined) return [] // the config check refuses this
    const upstream = upstreamEndpoint(proxy.signal.upstream)
    const purpose = 'signaling upstream (proxy.signal.upstream)'
    return [{ destination: upstream.host, protocol: 'TCP', ports: upstream.port, purpose }]
  }
  const redis = new URL(cluster.redis)
  const tls = redis.protocol === 'rediss:' ? ', TLS' : ''
  return [
    ...proxy.peers.allow.map((cidr): ProxyOutbound => ({
      destination: cidr,
      protocol: 'TCP',
      ports: "each node's sfu.port (and the next ones for its sfu.workers)",
      purpose: "signaling to the channel's conference node (placed through cluster.redis)",
    })),
    {
      destination: redis.hostname.replace(/^\[(.*)\]$/, '$1'),
      protocol: 'TCP',
      ports: redis.port !== '' ? redis.port : '6379',
      purpose: `Redis of the cluster (cluster.redis${tls}): placement and the nodes' registry`,
    },
  ]
}

const range = ([min, max]: readonly [number, number]): string => (min === max ? `${min}` : `${min}-${max}`)

function reportWarnings(
  config: ServerConfig,
  rules: readonly WhitelistRule[],
  regions: readonly Region[] | undefined,
): string[] {
  const { proxy } = config
  const warnings: string[] = []
  if (regions && proxy?.enabled) warnings.push(...regionFileWarnings(proxy, regions))
  if (proxy === undefined) {
    // With a regions file the rules are the file's: a conference server's config can print them too.
    if (!regions) {
      warnings.push(
        'no proxy configured (conference server only): desktops reach this server through a cloud proxy, ' +
          "and the whitelist comes from that proxy's config",
      )
    }
  } else if (!proxy.enabled) {
    warnings.push('proxy.enabled is false: this server needs no whitelist')
  }
  if (rules.some((r) => r.port === 0)) {
    warnings.push('a port is 0 (any free port, for tests): set fixed ports before giving this table to IT')
  }
  return warnings
}

/** `regions`: a regions file's (`--regions`): the rules name every proxy host of every region in it. */
export function whitelistReport(config: ServerConfig, regions?: readonly Region[]): WhitelistReport {
  const { proxy, sfu, admin } = config
  const proxyOn = proxy?.enabled === true
  const rules = regions ? regionWhitelistRules(regions) : whitelistRules(config)
  const warnings = reportWarnings(config, rules, regions)
  const doNotOpen: ClosedPort[] = []
  const proxyOutbound: ProxyOutbound[] = []
  const conferenceInbound: ConferenceInbound[] = []

  if (proxyOn) {
    const relayPorts = range(proxy.relay.portRange)
    doNotOpen.push({
      what: 'relay port range',
      protocol: 'UDP',
      ports: relayPorts,
      reason: 'relayed media flows only between the proxy and the conference servers',
    })
    proxyOutbound.push(
      ...proxy.peers.allow.map((cidr): ProxyOutbound => ({
        destination: cidr,
        protocol: 'UDP',
        ports: `any, from/to relay ports ${relayPorts}`,
        purpose: 'relayed media, both directions (conference servers also send to the relay ports)',
      })),
      ...signalingOutbound(proxy, config.cluster),
    )
  }
  if (sfu.enabled) {
    const media = sfu.rtcPortRange ? range(sfu.rtcPortRange) : 'ephemeral (set sfu.rtcPortRange to fix them)'
    const reason = 'desktops reach the conference server only through the proxy'
    doNotOpen.push(
      { what: 'conference server signaling', protocol: 'TCP', ports: `${sfu.port}`, reason },
      { what: 'conference server media', protocol: 'UDP', ports: media, reason },
    )
    conferenceInbound.push(
      {
        destination: sfu.listenHost,
        protocol: 'TCP',
        ports: `${sfu.port}`,
        purpose: config.cluster
          ? 'signaling from the proxies (to the signalUrl this node registers in cluster.redis)'
          : 'signaling from the proxies (their proxy.signal.upstream)',
      },
      {
        destination: sfu.announcedAddress,
        protocol: 'UDP',
        ports: media,
        purpose: "media from/to the proxies' relay ports (sfu.announcedAddress, in every ICE candidate)",
      },
    )
  }
  doNotOpen.push({
    what: 'admin port',
    protocol: 'TCP',
    ports: `${admin.port}`,
    reason: `/metrics and /healthz, for operators on ${admin.host}`,
  })
  return {
    region: proxy?.region ?? null,
    rules,
    doNotOpen,
    proxyOutbound,
    conferenceInbound,
    warnings,
  }
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** The table IT reads (`pinhole-server whitelist`; with `--regions`, every host of every region). */
export function formatWhitelistText(config: ServerConfig, regions?: readonly Region[]): string {
  const report = whitelistReport(config, regions)
  const out: string[] = []
  for (const w of report.warnings) out.push(`WARNING: ${w}`)
  if (regions && report.rules.length > 0) {
    out.push('Allow outbound from desktops to every Pinhole proxy of the regions file:', '')
    out.push(
      formatTable(
        ['region', 'destination', 'protocol', 'port', 'purpose'],
        report.rules.map((r) => [r.region ?? '', r.destination, r.protocol, String(r.port), r.purpose]),
      ),
    )
    out.push('')
  } else if (report.rules.length > 0) {
    out.push(`Allow outbound from desktops to the Pinhole proxy (region "${report.region}"):`, '')
    out.push(
      formatTable(
        ['destination', 'protocol', 'port', 'purpose'],
        report.rules.map((r) => [r.destination, r.protocol, String(r.port), r.purpose]),
      ),
    )
    out.push('')
  }
  const closed = report.doNotOpen.map((c) => `${c.what} ${c.protocol} ${c.ports} (${c.reason})`)
  out.push(`Do NOT open to desktops: ${closed.join('; ')}.`)
  const table = (rows: readonly (ProxyOutbound | ConferenceInbound)[]): string =>
    formatTable(
      ['destination', 'protocol', 'ports', 'purpose'],
      rows.map((o) => [o.destination, o.protocol, o.ports, o.purpose]),
    )
  if (report.proxyOutbound.length > 0) {
    const peers = config.cluster ? "the conference nodes and the cluster's Redis" : 'the conference servers'
    out.push('', `Between the proxy and ${peers} (DMZ side; the proxy needs nothing else):`, '')
    out.push(table(report.proxyOutbound))
  }
  if (report.conferenceInbound.length > 0) {
    out.push('', 'Into this conference server, from the proxies only (internal firewall):', '')
    out.push(table(report.conferenceInbound))
  }
  return `${out.join('\n')}\n`
}

/** `pinhole-server whitelist --json`. */
export function formatWhitelistJson(config: ServerConfig, regions?: readonly Region[]): string {
  return `${JSON.stringify(whitelistReport(config, regions), null, 2)}\n`
}

/**
 * The regions file desktops get (`--regions`: the app's regions list, a policy's `regions`): a JSON array
 * of regions. Throws with the file and the bad field named.
 */
export function readRegionsFile(path: string): Region[] {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`--regions ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  const parsed = RegionSchema.array().min(1).safeParse(json)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const where = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')
  throw new Error(`--regions ${path}: ${where.replace(/^\./, '') || 'the file'}: ${issue.message}`)
}
