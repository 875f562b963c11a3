/**
 * The link emulator (docs/lab.md "The link emulator"): `createLab({ emulateLink: true })` puts a `link`
 * namespace on the desktops' access link, between `lan` and the router, and runs a userspace delay line
 * there (agents/linkEmulator.mts, scheduling in delayLine.ts) that applies delay, jitter, loss and a rate cap
 * with a drop-tail queue, per direction, changeable at run time. This kernel has no netem, hence userspace.
 *
 *   lan eth0 10.99.1.2 ── l-lan [link: proxy ARP, no addresses] l-fw ── fw-lan 10.99.1.1 fw
 *                              │ iif l-lan → tun-up    ▲ │ iif l-fw → tun-down ▲
 *                              └──► delay line (up) ───┘ └──► delay line (down) ─┘
 *
 * `link` is transparent at L3: `lan` keeps its address and gateway, the router keeps its interfaces, address
 * and ruleset (its counters see the same packets as without the emulator). Only the TTL tells: two hops less.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { AgentClient } from './agentClient'
import type { LinkOps } from './agents/linkProtocol'
import { checkDirection, type LinkProfile, type LinkStats } from './delayLine'
import type { VethLink } from './topology'

export {
  CLEAR_LINK,
  DEFAULT_QUEUE_MS,
  rttProfile,
  type LinkDirection,
  type LinkDirectionStats,
  type LinkProfile,
  type LinkStats,
} from './delayLine'

const run = promisify(execFile)

/** The delay line of the desktops' access link, as the test sees it (`lab.link`). Stops with `lab.destroy()`. */
export interface LinkEmulator {
  /** The `link` namespace's real name (`pinhole-lab-<pid>-<n>-link`). */
  readonly namespace: string
  /** Replaces both directions' impairment; resolves once the delay line applies it to the next packet. */
  set(profile: LinkProfile): Promise<void>
  /** Counters since the lab was created, per direction (`up` = lan → router, `down` = router → lan). */
  stats(): Promise<LinkStats>
}

/** Interface names inside `link`: the veth legs toward `lan` and the router, and the two TUN devices. */
export const LINK_IFACES = { lan: 'l-lan', fw: 'l-fw', up: 'tun-up', down: 'tun-down' } as const
/** Policy-routing tables: everything arriving from `lan` goes to tun-up, from the router to tun-down. */
const TABLE = { up: 100, down: 101 } as const

/**
 * Attaches the two TUN devices (TUNSETIFF: `_IOW('T', 202, int)`; struct ifreq = 16-byte name, flags
 * IFF_TUN | IFF_NO_PI, padded to 40 bytes) and execs the delay line with the descriptors inherited
 * (`$^F = 255` keeps Perl from marking them close-on-exec). Node cannot issue the ioctl itself, and Perl is
 * part of every Debian (perl-base is essential) where Python is not; the shim is gone after exec.
 */
const TUN_SHIM = [
  '$^F = 255; my (@keep, @fds);',
  'for my $name (@ARGV[0, 1]) {',
  '  open(my $tun, "+<", "/dev/net/tun") or die "open /dev/net/tun: $!\\n";',
  '  ioctl($tun, 0x400454ca, pack("Z16 s x22", $name, 0x1001)) or die "TUNSETIFF $name: $!\\n";',
  '  push @keep, $tun; push @fds, fileno($tun);',
  '}',
  '$ENV{LINK_TUN_FDS} = join(",", @fds);',
  'exec { $ARGV[2] } @ARGV[2 .. $#ARGV] or die "exec $ARGV[2]: $!\\n";',
].join('\n')

/** Low among real-time priorities: above every normal process, below the kernel's own threads. */
const REALTIME_PRIORITY = 10
let realtimeCommand: string[] | undefined

/**
 * The command prefix that runs a process at round-robin real-time priority (inherited across exec and by
 * Node's threads), or nothing where that is not allowed (a container without CAP_SYS_NICE), said once.
 * On a 2-core machine shared with Chromiums and servers, the delay line at normal priority released
 * packets up to ~90 ms late; it sleeps between packets, so real time costs little CPU, and the kernel caps
 * real-time tasks at 95 % of a core anyway.
 */
export function realtime(): string[] {
  if (realtimeCommand !== undefined) return realtimeCommand
  const command = ['chrt', '--rr', String(REALTIME_PRIORITY)]
  try {
    execFileSync(command[0] ?? 'chrt', [...command.slice(1), 'true'], { stdio: 'ignore' })
    realtimeCommand = command
  } catch {
    console.warn('link emulator: real-time priority not available (chrt); its timing suffers under load')
    realtimeCommand = []
  }
  return realtimeCommand
}

const DELAY_LINE = join(import.meta.dirname, 'agents', 'linkEmulator.mts')

export interface LinkNamespaces {
  lan: string
  fw: string
  link: string
}

/** `echo value > /proc/sys/...` lines, run from inside the namespace (its /proc/sys/net is its own). */
function sysctlScript(settings: readonly string[]): string {
  return settings
    .map((s) => {
      const [key = '', value = ''] = s.split('=')
      return `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`
    })
    .join(' && ')
}

/** The `link` namespace's sysctls. Loose rp_filter would pass too; 0 states that the TUNs carry others' sources. */
function linkSysctls(stage: 'namespace' | 'devices'): string[] {
  if (stage === 'namespace')
    return [
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
    ]
  const { lan, fw, up, down } = LINK_IFACES
  return [
    ...[lan, fw, up, down].map((dev) => `net.ipv4.conf.${dev}.rp_filter=0`),
    // Proxy ARP answers a broadcast request after a random wait of up to proxy_delay (0.8 s by default).
    ...[lan, fw].map((dev) => `net.ipv4.neigh.${dev}.proxy_delay=0`),
  ]
}

/**
 * Builds the access link through `link` instead of the direct veth `access` describes (fw-lan ↔ lan eth0):
 * the same two end interfaces with the same addresses, each now paired with a leg of `link`.
 */
export async function buildLinkNamespace(ip: string, ns: LinkNamespaces, access: VethLink): Promise<void> {
  const { lan, fw, up, down } = LINK_IFACES
  const inLink = (...args: string[]): Promise<unknown> => run(ip, ['-n', ns.link, ...args])
  const inside = (settings: string[]): Promise<unknown> =>
    run(ip, ['netns', 'exec', ns.link, 'sh', '-c', sysctlScript(settings)])
  await run(ip, ['netns', 'add', ns.link])
  await inLink('link', 'set', 'lo', 'up')
  await inside(linkSysctls('namespace'))
  const router = access.a.ns === 'fw' ? access.a : access.b
  const desktop = access.a.ns === 'fw' ? access.b : access.a
  await run(ip, [
    '-n',
    ns.fw,
    'link',
    'add',
    router.ifname,
    'type',
    'veth',
    'peer',
    'name',
    fw,
    'netns',
    ns.link,
  ])
  await inLink('link', 'add', lan, 'type', 'veth', 'peer', 'name', desktop.ifname, 'netns', ns.lan)
  for (const [name, end] of [
    [ns.fw, router],
    [ns.lan, desktop],
  ] as const) {
    await run(ip, ['-n', name, 'addr', 'add', `${end.address}/${access.prefix}`, 'dev', end.ifname])
    await run(ip, ['-n', name, 'link', 'set', end.ifname, 'up'])
  }
  // Persistent TUNs: routes can point at them before the delay line attaches, and if it dies they stay
  // (without carrier), so packets are dropped rather than bypassing the emulation.
  for (const tun of [up, down]) await inLink('tuntap', 'add', 'dev', tun, 'mode', 'tun')
  for (const dev of [lan, fw, up, down]) await inLink('link', 'set', dev, 'up')
  await inside(linkSysctls('devices'))
  // Proxy ARP for exactly the two real hosts: lan's gateway on the lan leg, lan's address on the router leg.
  await inLink('neigh', 'add', 'proxy', router.address, 'dev', lan)
  await inLink('neigh', 'add', 'proxy', desktop.address, 'dev', fw)
  // Where packets go once the delay line writes them back (they then arrive on a TUN, not on a leg).
  await inLink('route', 'add', desktop.address, 'dev', lan)
  await inLink('route', 'add', router.address, 'dev', fw)
  await inLink('route', 'add', 'default', 'via', router.address, 'dev', fw, 'onlink')
  // Where packets go when they arrive on a leg: into the delay line of their direction.
  await inLink('route', 'add', 'default', 'dev', up, 'table', String(TABLE.up))
  await inLink('route', 'add', 'default', 'dev', down, 'table', String(TABLE.down))
  await inLink('rule', 'add', 'iif', lan, 'lookup', String(TABLE.up), 'pref', String(TABLE.up))
  await inLink('rule', 'add', 'iif', fw, 'lookup', String(TABLE.down), 'pref', String(TABLE.down))
}

/** How the lab starts a process inside `link` (its own process group, stopped by `lab.destroy()`). */
export type SpawnInLink = (cmd: string, args: readonly string[]) => ChildProcess

/** Starts the delay line (no impairment until `set`) and waits until both TUNs are attached and read. */
export async function startLinkEmulator(namespace: string, spawnInLink: SpawnInLink): Promise<LinkEmulator> {
  const [cmd = 'perl', ...prefix] = [...realtime(), 'perl']
  const child = spawnInLink(cmd, [
    ...prefix,
    '-e',
    TUN_SHIM,
    LINK_IFACES.up,
    LINK_IFACES.down,
    process.execPath,
    '--import',
    'tsx',
    DELAY_LINE,
  ])
  const client = new AgentClient<LinkOps>('link emulator', child)
  await client.waitEvent('ready', 20_000)
  return {
    namespace,
    async set(profile) {
      // Checked here too, so a bad profile fails at the caller's line rather than as a remote error.
      checkDirection(profile.up)
      checkDirection(profile.down)
      await client.request('set', { up: profile.up, down: profile.down })
    },
    stats: () => client.request('stats', {}),
  }
}
