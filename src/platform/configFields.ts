import { BlockList, isIP } from 'node:net'
import { z } from 'zod'

/**
 * The field schemas of the server config (src/server/config.ts, and the proxy's section in
 * src/proxy/config.ts): messages say what is expected, so `path: message` reads as one instruction.
 */

/** A type error says "required" when the field is missing, else what was expected. */
export const expecting = (message: string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? 'required' : message),
})

const PORT = 'expected a port 1-65535'
const BIND_PORT = 'expected a port 1-65535 (or 0 for any free port)'
export const port = z.int(expecting(PORT)).min(1, PORT).max(65535, PORT)
/** Listening ports may be 0: the OS picks a free one (tests, the embedded local stack). */
export const bindPort = z.int(expecting(BIND_PORT)).min(0, BIND_PORT).max(65535, BIND_PORT)

export function intIn(min: number, max: number): z.ZodInt {
  const msg = `expected an integer from ${min} to ${max}`
  return z.int(expecting(msg)).min(min, msg).max(max, msg)
}
export const positiveInt = intIn(1, Number.MAX_SAFE_INTEGER)

const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i
const isHost = (s: string): boolean => isIP(s) !== 0 || HOSTNAME.test(s)
const isUnspecified = (s: string): boolean => s === '0.0.0.0' || s === '::' || /^[0:]+$/.test(s)

export const host = z
  .string(expecting('expected a host name or IP address'))
  .refine(isHost, 'expected an IP address or DNS name (IPv6 without brackets)')
/** An address others connect to: never a wildcard. */
export const advertisedHost = host.refine(
  (s) => !isUnspecified(s),
  'expected an address clients can reach, not a wildcard',
)
export const advertisedIp = z
  .string(expecting('expected an IP address'))
  .refine((s) => isIP(s) !== 0 && !isUnspecified(s), 'expected an IPv4 or IPv6 address (not a wildcard)')

function isCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s)
  if (!m) return false
  const version = isIP(m[1]!)
  return version !== 0 && Number(m[2]) <= (version === 4 ? 32 : 128)
}
export const cidr = z
  .string(expecting('expected a CIDR'))
  .refine(isCidr, 'expected an IPv4 or IPv6 CIDR such as 10.0.0.0/24 or 2001:db8::/64')

export const wsUrl = z.string(expecting('expected a ws:// or wss:// URL')).refine((s) => {
  if (!URL.canParse(s)) return false
  const { protocol } = new URL(s)
  return protocol === 'ws:' || protocol === 'wss:'
}, 'expected a ws:// or wss:// URL')

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6')
export function isLoopbackHost(h: string): boolean {
  if (h.toLowerCase() === 'localhost') return true
  const version = isIP(h)
  return version !== 0 && LOOPBACK.check(h, version === 4 ? 'ipv4' : 'ipv6')
}
