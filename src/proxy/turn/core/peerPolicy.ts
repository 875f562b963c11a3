import { isIP } from 'node:net'
import { bytesToIp, ipToBytes } from '../../../protocol/stun/attributes/address'

/**
 * Which peers a TURN allocation may reach (docs/architecture.md, "The proxy is an SSRF surface"). A
 * client that can CreatePermission towards 127.0.0.1, the metadata service or [::] reaches things behind
 * the proxy (CVE-2020-26262 in coturn: 0.0.0.0, [::1], [::]; CVE-2026-27624: ::ffff:127.0.0.1). So a
 * fixed set of addresses is refused first, whatever the configuration, including their IPv4-in-IPv6
 * spellings; then the address must fall inside one of the configured CIDRs (the conference servers).
 */
export type PeerRefusal =
  | 'invalid'
  | 'unspecified'
  | 'loopback'
  | 'link-local'
  | 'multicast'
  | 'metadata'
  | 'broadcast'
  | 'reserved'
  | 'not-allowed'

export type PeerVerdict = { ok: true } | { ok: false; reason: PeerRefusal }

export interface PeerPolicyOptions {
  /** IPv4/IPv6 CIDRs a peer must be inside (parsed with parseCidr; an invalid one throws). */
  allow: readonly string[]
  /** Lifts the loopback refusal only (127.0.0.0/8, ::1, ::ffff:127.x): for tests and the embedded stack. */
  allowLoopback: boolean
}

export interface Cidr {
  readonly family: 4 | 6
  /** The network address, 4 or 16 bytes, with no bits set beyond the prefix. */
  readonly network: Buffer
  readonly prefix: number
}

const PREFIX = /^(0|[1-9][0-9]{0,2})$/

/** Parses "a.b.c.d/n" or "x:y::z/n". Throws a TypeError naming the problem (the config validator shows it). */
export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string') throw new TypeError(`expected a CIDR string, got ${typeof text}`)
  const slash = text.indexOf('/')
  if (slash < 0) {
    throw new TypeError(
      `"${text}" is not a CIDR: expected address/prefix such as 10.0.0.0/24 or 2001:db8::/64`,
    )
  }
  const address = text.slice(0, slash)
  const prefixText = text.slice(slash + 1)
  const version = address.includes('%') ? 0 : isIP(address)
  const bytes = version === 0 ? undefined : ipToBytes(address)
  if (!bytes) throw new TypeError(`"${text}": "${address}" is not an IPv4 or IPv6 address`)
  const maxPrefix = bytes.length * 8
  if (!PREFIX.test(prefixText) || Number(prefixText) > maxPrefix) {
    throw new TypeError(`"${text}": the prefix length must be a whole number from 0 to ${maxPrefix}`)
  }
  const prefix = Number(prefixText)
  const network = masked(bytes, prefix)
  if (!network.equals(bytes)) {
    throw new TypeError(
      `"${text}": bits are set beyond the /${prefix} prefix (did you mean ${bytesToIp(network)}/${prefix}?)`,
    )
  }
  return { family: version === 4 ? 4 : 6, network, prefix }
}

function masked(bytes: Buffer, prefix: number): Buffer {
  const out = Buffer.from(bytes)
  for (let i = 0; i < out.length; i++) {
    const keep = Math.min(8, Math.max(0, prefix - i * 8))
    out[i] = out[i]! & ((0xff00 >> keep) & 0xff)
  }
  return out
}

function contains(cidr: Cidr, bytes: Buffer): boolean {
  const whole = cidr.prefix >> 3
  for (let i = 0; i < whole; i++) if (bytes[i] !== cidr.network[i]) return false
  const rest = cidr.prefix & 7
  if (rest === 0) return true
  const mask = (0xff00 >> rest) & 0xff
  return (bytes[whole]! & mask) === cidr.network[whole]
}

/** An IPv4-mapped CIDR (::ffff:a.b.c.d/96+) is the IPv4 CIDR it spells, so mapped peers match it as IPv4. */
function normalised(cidr: Cidr): Cidr {
  if (cidr.family === 6 && cidr.prefix >= 96 && isMapped(cidr.network)) {
    return { family: 4, network: cidr.network.subarray(12), prefix: cidr.prefix - 96 }
  }
  return cidr
}

// ---- fixed refusals -------------------------------------------------------------------------------------

const OK: PeerVerdict = Object.freeze({ ok: true })
const REFUSED = Object.fromEntries(
  (
    [
      'invalid',
      'unspecified',
      'loopback',
      'link-local',
      'multicast',
      'metadata',
      'broadcast',
      'reserved',
      'not-allowed',
    ] as const
  ).map((reason) => [reason, Object.freeze({ ok: false, reason })]),
) as Record<PeerRefusal, PeerVerdict>

/** Cloud instance-metadata endpoints (checked before link-local so they are reported as such). */
const METADATA_V4 = new Set([
  0xa9fea9fe, // 169.254.169.254: AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
  0xa9feaa02, // 169.254.170.2: AWS ECS task metadata
  0xa83f8110, // 168.63.129.16: Azure WireServer
  0x646464c8, // 100.100.100.200: Alibaba Cloud
])
const METADATA_V6 = [ipToBytes('fd00:ec2::254')!] // AWS IMDS over IPv6

/** RFC 6890 special-purpose IPv4 ranges that a relay must never reach, whatever the allow list says. */
function v4Refusal(ip: number, allowLoopback: boolean): PeerRefusal | undefined {
  const first = ip >>> 24
  if (first === 0) return 'unspecified' // 0.0.0.0/8: "this network"; 0.0.0.0 reaches the host itself
  if (first === 127) return allowLoopback ? undefined : 'loopback'
  if (METADATA_V4.has(ip)) return 'metadata'
  if (ip >>> 16 === 0xa9fe) return 'link-local' // 169.254.0.0/16
  if (first >= 224 && first <= 239) return 'multicast' // 224.0.0.0/4
  if (ip === 0xffffffff) return 'broadcast'
  if (first >= 240) return 'reserved' // 240.0.0.0/4
  return undefined
}

const readV4 = (bytes: Buffer, at: number): number => bytes.readUInt32BE(at)

function zeros(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false
  return true
}

/** ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): on a dual-stack socket this *is* a.b.c.d. */
function isMapped(bytes: Buffer): boolean {
  return zeros(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff
}

/**
 * IPv6 forms that carry an IPv4 address which some stack, translator or relay may turn back into IPv4:
 * IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated), SIIT ::ffff:0:a.b.c.d (RFC 6145), NAT64
 * 64:ff9b::/96 (RFC 6052) and 6to4 2002:AABB:CCDD::/48 (RFC 3056). Returns the offset of the IPv4 bytes.
 */
function embeddedV4At(bytes: Buffer): number | undefined {
  if (zeros(bytes, 0, 12)) return 12
  if (zeros(bytes, 0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && bytes[10] === 0 && bytes[11] === 0)
    return 12
  if (bytes.readUInt32BE(0) === 0x0064ff9b && zeros(bytes, 4, 12)) return 12
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return 2
  return undefined
}

function v6Refusal(bytes: Buffer, allowLoopback: boolean): PeerRefusal | undefined {
  if (zeros(bytes, 0, 15)) {
    if (bytes[15] === 0) return 'unspecified' // ::
    if (bytes[15] === 1) return allowLoopback ? undefined : 'loopback' // ::1
  }
  if (isMapped(bytes)) return v4Refusal(readV4(bytes, 12), allowLoopback)
  const at = embeddedV4At(bytes)
  if (at !== undefined) {
    // The loopback exemption is for the real thing only: no test needs 127.0.0.1 spelled through NAT64.
    const refusal = v4Refusal(readV4(bytes, at), false)
    if (refusal) return refusal
    if (at === 12 && zeros(bytes, 0, 12)) return 'reserved' // IPv4-compatible: deprecated, never a peer
  }
  for (const metadata of METADATA_V6) if (bytes.equals(metadata)) return 'metadata'
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return 'link-local' // fe80::/10
  if (bytes[0] === 0xff) return 'multicast' // ff00::/8
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0xc0) return 'reserved' // fec0::/10, deprecated site-local
  return undefined
}

/** Parses a peer address as it comes out of XOR-PEER-ADDRESS (or a config): IPv4 dotted quad or IPv6. */
function peerBytes(ip: string): Buffer | undefined {
  if (typeof ip !== 'string') return undefined
  const zone = ip.indexOf('%')
  const address = zone < 0 ? ip : ip.slice(0, zone) // a zone only scopes link-local; the address decides
  return isIP(address) === 0 ? undefined : ipToBytes(address)
}

/**
 * Builds the peer check. Throws a TypeError for an invalid CIDR in `allow`. The returned function is pure,
 * allocation-light and never throws.
 */
export function createPeerPolicy(options: PeerPolicyOptions): (ip: string) => PeerVerdict {
  const cidrs = options.allow.map((text) => normalised(parseCidr(text)))
  const v4 = cidrs.filter((c) => c.family === 4)
  const v6 = cidrs.filter((c) => c.family === 6)
  const allowLoopback = options.allowLoopback

  return (ip) => {
    const bytes = peerBytes(ip)
    if (!bytes) return REFUSED.invalid
    if (bytes.length === 4) {
      const refusal = v4Refusal(readV4(bytes, 0), allowLoopback)
      if (refusal) return REFUSED[refusal]
      return v4.some((c) => contains(c, bytes)) ? OK : REFUSED['not-allowed']
    }
    const refusal = v6Refusal(bytes, allowLoopback)
    if (refusal) return REFUSED[refusal]
    // A mapped peer is the IPv4 host it names, so it is held to the IPv4 list.
    const allowed = isMapped(bytes)
      ? v4.some((c) => contains(c, bytes.subarray(12)))
      : v6.some((c) => contains(c, bytes))
    return allowed ? OK : REFUSED['not-allowed']
  }
}
