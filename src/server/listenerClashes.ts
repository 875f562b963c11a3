import { isIP } from 'node:net'
import { sfuWorkerCount } from './sfuWorkers'

/**
 * Listeners of one config that would fight for the same port on the same host. `start` would bind the
 * first and exit 1 on the second — a restart loop under the systemd unit — so the schema refuses them
 * (check-config says which two fields clash). Port 0 (any free port) never clashes.
 */

type Range = readonly [number, number]

interface Listener {
  /** Path of the port field in the config, e.g. ['sfu', 'port']. */
  path: (string | number)[]
  protocol: 'TCP' | 'UDP'
  host: string
  ports: Range
}

/** The parts of a parsed config that say where something listens. */
export interface ListenerFields {
  proxy?: {
    enabled: boolean
    listenHost: string
    ports: { udp: number[]; tcp: number }
    relay: { listenHost: string; portRange: Range }
  }
  sfu: {
    enabled: boolean
    listenHost: string
    port: number
    rtcListenHost?: string
    rtcPortRange?: Range
    workers?: number | undefined
  }
  admin: { host: string; port: number }
  /** Present: `sfu.workers` defaults to one per core (sfuWorkers.ts). */
  cluster?: unknown
}

export interface ListenerClash {
  path: (string | number)[]
  message: string
}

function listeners(c: ListenerFields): Listener[] {
  const out: Listener[] = []
  const single = (
    path: (string | number)[],
    protocol: Listener['protocol'],
    host: string,
    port: number,
  ): void => {
    if (port !== 0) out.push({ path, protocol, host, ports: [port, port] })
  }
  const p = c.proxy
  if (p?.enabled) {
    p.ports.udp.forEach((port, i) => single(['proxy', 'ports', 'udp', i], 'UDP', p.listenHost, port))
    single(['proxy', 'ports', 'tcp'], 'TCP', p.listenHost, p.ports.tcp)
    out.push({
      path: ['proxy', 'relay', 'portRange'],
      protocol: 'UDP',
      host: p.relay.listenHost,
      ports: p.relay.portRange,
    })
  }
  const s = c.sfu
  if (s.enabled) {
    // Worker i of `sfu.workers` listens on sfu.port + i (sfuWorkers.ts): each one a port of its own.
    const workers = s.port === 0 ? 1 : sfuWorkerCount(c)
    for (let i = 0; i < workers; i++) single(['sfu', 'port'], 'TCP', s.listenHost, s.port + i)
    if (s.rtcPortRange) {
      const host = s.rtcListenHost ?? s.listenHost
      out.push({ path: ['sfu', 'rtcPortRange'], protocol: 'UDP', host, ports: s.rtcPortRange })
    }
  }
  single(['admin', 'port'], 'TCP', c.admin.host, c.admin.port)
  return out
}

const WILDCARD_V6 = '::'

function normalHost(host: string): string {
  const h = host.toLowerCase()
  return isIP(h) === 6 && /^[0:]+$/.test(h) ? WILDCARD_V6 : h
}

/** Whether binding both hosts on one port fails: the same address, or a wildcard that covers the other. */
function hostsOverlap(first: string, second: string): boolean {
  const [a, b] = [normalHost(first), normalHost(second)]
  if (a === b || a === WILDCARD_V6 || b === WILDCARD_V6) return true // "::" is dual-stack on Linux
  if (a === '0.0.0.0') return isIP(b) !== 6
  if (b === '0.0.0.0') return isIP(a) !== 6
  const loopback = (h: string): boolean => h === '127.0.0.1' || h === '::1'
  return (a === 'localhost' && loopback(b)) || (b === 'localhost' && loopback(a))
}

const dotted = (path: (string | number)[]): string =>
  path.reduce<string>(
    (out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : out === '' ? seg : `${out}.${seg}`),
    '',
  )

const describePorts = ([min, max]: Range): string => (min === max ? `port ${min}` : `ports ${min}-${max}`)

interface Conflict {
  later: Listener
  earlier: Listener
  ports: Range
}

function conflicts(config: ListenerFields): Conflict[] {
  const all = listeners(config)
  const found: Conflict[] = []
  all.forEach((later, i) => {
    for (const earlier of all.slice(0, i)) {
      // Duplicates inside proxy.ports.udp have their own message.
      if (later.path[2] === 'udp' && earlier.path[2] === 'udp') continue
      if (earlier.protocol !== later.protocol || !hostsOverlap(earlier.host, later.host)) continue
      const lo = Math.max(earlier.ports[0], later.ports[0])
      const hi = Math.min(earlier.ports[1], later.ports[1])
      if (lo <= hi) found.push({ later, earlier, ports: [lo, hi] })
    }
  })
  return found
}

const isRange = (l: Listener): boolean => l.ports[0] !== l.ports[1]

const overlap = ({ later, earlier, ports }: Conflict): string =>
  `${later.protocol} ${describePorts(ports)} on ${later.host} is also ${dotted(earlier.path)} (on ${earlier.host})`

/** Two fixed ports that are one: `start` cannot bind both, so the schema refuses the config. */
export function listenerClashes(config: ListenerFields): ListenerClash[] {
  return conflicts(config)
    .filter((c) => !isRange(c.later) && !isRange(c.earlier))
    .map((c) => ({
      path: c.later.path,
      message: `${overlap(c)}: two listeners cannot share a port; give each its own`,
    }))
}

/**
 * A port range (relay, media) that overlaps another listener: `start` works, since a relay or media
 * socket skips a port in use, but the range is smaller than it says. check-config warns.
 */
export function listenerRangeOverlaps(config: ListenerFields): string[] {
  return conflicts(config)
    .filter((c) => isRange(c.later) || isRange(c.earlier))
    .map((c) => `${dotted(c.later.path)}: ${overlap(c)}: those ports are not all free for it`)
}
