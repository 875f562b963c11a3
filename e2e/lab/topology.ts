/**
 * The firewall lab's fixed shape (docs/lab.md): four network namespaces joined by veth pairs, private
 * 10.99.0.0/16 addresses that exist only inside them, and the nftables ruleset of the `fw` router. Pure data:
 * lab.ts turns it into `ip` and `nft` commands.
 *
 *   lan 10.99.1.2 ── 10.99.1.1 fw 10.99.2.1 ── 10.99.2.2 dmz 10.99.3.1 ── 10.99.3.2 srv
 *   (desktops)       (router, nftables)         (proxy)                    (conference server)
 */

export const LAB_NAMESPACES = ['lan', 'fw', 'dmz', 'srv'] as const
export type LabNs = (typeof LAB_NAMESPACES)[number]

export const LAB_ADDRESSES = {
  /** The desktops. */
  lan: '10.99.1.2',
  /** The router's legs: its lan side is the desktops' default gateway. */
  fwLan: '10.99.1.1',
  fwDmz: '10.99.2.1',
  /** The proxy's public address: the only place `lan` may reach, and only on the whitelisted ports. */
  dmz: '10.99.2.2',
  /** The proxy's leg toward the conference server network. */
  dmzSrv: '10.99.3.1',
  /** The conference server: reachable from `dmz` only. */
  srv: '10.99.3.2',
  subnets: { lan: '10.99.1.0/24', dmz: '10.99.2.0/24', srv: '10.99.3.0/24' },
} as const
export type LabAddresses = typeof LAB_ADDRESSES

export interface WhitelistEntry {
  proto: 'udp' | 'tcp'
  port: number
  /** Name of the nftables counter of accepted lan → dmz packets on this port. */
  counter: string
}

/** What IT opens for Pinhole (docs/architecture.md, the whitelist table): lan → proxy on these ports only, plus replies. */
export const WHITELIST: readonly WhitelistEntry[] = [
  { proto: 'udp', port: 3478, counter: 'lan_udp_3478' },
  { proto: 'udp', port: 7070, counter: 'lan_udp_7070' },
  { proto: 'tcp', port: 443, counter: 'lan_tcp_443' },
]

/** Counters of packets from `lan` that the router dropped; their sum is Lab.droppedFromLan(). */
export const LAN_DROP_COUNTERS = ['lan_drop_udp', 'lan_drop_tcp', 'lan_drop_other', 'lan_drop_input'] as const

export interface VethLink {
  a: { ns: LabNs; ifname: string; address: string }
  b: { ns: LabNs; ifname: string; address: string }
  prefix: number
}

export const LAB_LINKS: readonly VethLink[] = [
  {
    a: { ns: 'fw', ifname: 'fw-lan', address: LAB_ADDRESSES.fwLan },
    b: { ns: 'lan', ifname: 'eth0', address: LAB_ADDRESSES.lan },
    prefix: 24,
  },
  {
    a: { ns: 'fw', ifname: 'fw-dmz', address: LAB_ADDRESSES.fwDmz },
    b: { ns: 'dmz', ifname: 'eth0', address: LAB_ADDRESSES.dmz },
    prefix: 24,
  },
  {
    a: { ns: 'dmz', ifname: 'eth1', address: LAB_ADDRESSES.dmzSrv },
    b: { ns: 'srv', ifname: 'eth0', address: LAB_ADDRESSES.srv },
    prefix: 24,
  },
]

/**
 * Routes beyond the connected subnets. `lan` sends everything to the router, so any stray packet is seen
 * (and counted) there. The router knows the way to `srv` behind the proxy, so lan → srv attempts reach its
 * forward chain and are counted as drops rather than vanishing as "no route". `dmz` knows only the way back
 * to `lan` and does not forward; `srv` knows only the way to the proxy's public address.
 */
export const LAB_ROUTES: readonly { ns: LabNs; to: string; via: string }[] = [
  { ns: 'lan', to: 'default', via: LAB_ADDRESSES.fwLan },
  { ns: 'fw', to: LAB_ADDRESSES.subnets.srv, via: LAB_ADDRESSES.dmz },
  { ns: 'dmz', to: LAB_ADDRESSES.subnets.lan, via: LAB_ADDRESSES.fwDmz },
  { ns: 'srv', to: LAB_ADDRESSES.subnets.dmz, via: LAB_ADDRESSES.dmzSrv },
]

/** Only the router forwards. IPv6 is off everywhere: an IPv4-only lab has no link-local side doors. */
export function labSysctls(ns: LabNs): string[] {
  return [
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
    `net.ipv4.ip_forward=${ns === 'fw' ? 1 : 0}`,
  ]
}

export const NFT_TABLE = 'pinhole_lab'

/** A whitelisted entry IT forgot (or a network that blocks it anyway): see Lab.block. */
export interface LabBlock {
  proto: 'udp' | 'tcp'
  port: number
}

/** Counter of the packets a block dropped; its `lan_drop_` prefix makes Lab.droppedFromLan count it. */
export function blockCounter(block: LabBlock): string {
  return `lan_drop_block_${block.proto}_${block.port}`
}

/**
 * `nft` commands (one a line, for `nft -f -`) that add a block's counter and insert its drop rule at the
 * head of the forward chain: ahead of the whitelist, so the port is closed, and ahead of the conntrack
 * shortcut, so flows already established through it are cut too.
 */
export function blockCommands(block: LabBlock): string {
  const { subnets } = LAB_ADDRESSES
  const counter = blockCounter(block)
  return [
    `add counter inet ${NFT_TABLE} ${counter}`,
    `insert rule inet ${NFT_TABLE} forward iifname "fw-lan" ip daddr ${subnets.dmz} ${block.proto} dport ${block.port} counter name "${counter}" drop`,
    '',
  ].join('\n')
}

/**
 * The router's ruleset. Whitelist rules come before the conntrack shortcut so that their counters see every
 * lan → proxy packet, not only each flow's first; replies (and related ICMP errors) pass by conntrack;
 * everything else from `lan` is dropped into a per-protocol counter. Input to the router itself is closed.
 */
export function labRuleset(): string {
  const { subnets } = LAB_ADDRESSES
  const allow = WHITELIST.map(
    (w) =>
      `    iifname "fw-lan" oifname "fw-dmz" ip daddr ${subnets.dmz} ${w.proto} dport ${w.port} counter name "${w.counter}" accept`,
  )
  const counters = [...WHITELIST.map((w) => w.counter), ...LAN_DROP_COUNTERS, 'replies', 'other_drop']
  return [
    `table inet ${NFT_TABLE} {`,
    ...counters.map((name) => `  counter ${name} {}`),
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    ...allow,
    '    ct state established,related counter name "replies" accept',
    '    iifname "fw-lan" meta l4proto udp counter name "lan_drop_udp" drop',
    '    iifname "fw-lan" meta l4proto tcp counter name "lan_drop_tcp" drop',
    '    iifname "fw-lan" counter name "lan_drop_other" drop',
    '    counter name "other_drop" drop',
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iifname "lo" accept',
    '    ct state established,related accept',
    '    iifname "fw-lan" counter name "lan_drop_input" drop',
    '    counter name "other_drop" drop',
    '  }',
    '}',
    '',
  ].join('\n')
}
