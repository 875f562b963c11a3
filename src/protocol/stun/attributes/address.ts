import { isIP } from 'node:net'
import { MAGIC_COOKIE } from '../constants'
import type { AttrCodec } from './codec'

/** A transport address as carried in (XOR-)MAPPED-ADDRESS and friends (RFC 8489 §14.1–14.2). */
export interface TransportAddress {
  family: 4 | 6
  address: string
  port: number
}

const FAMILY_V4 = 0x01
const FAMILY_V6 = 0x02

export function ipToBytes(address: string): Buffer | undefined {
  const version = isIP(address)
  if (version === 4) return Buffer.from(address.split('.').map(Number))
  if (version !== 6) return undefined
  // Expand "::" and an embedded dotted quad into eight 16-bit groups.
  let text = address
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted?.[1]) {
    const b = dotted[1].split('.').map(Number)
    text =
      text.slice(0, -dotted[1].length) +
      `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups]
  if (groups.length !== 8) return undefined
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  // RFC 5952: compress the longest run of zero groups (length ≥ 2).
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  if (bestStart < 0) return groups.join(':')
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`
}

function decodeAddress(value: Buffer): TransportAddress | undefined {
  if (value.length < 4) return undefined
  const family = value[1]
  const port = value.readUInt16BE(2)
  if (family === FAMILY_V4 && value.length === 8)
    return { family: 4, port, address: bytesToIp(value.subarray(4, 8)) }
  if (family === FAMILY_V6 && value.length === 20)
    return { family: 6, port, address: bytesToIp(value.subarray(4, 20)) }
  return undefined
}

function encodeAddress(addr: TransportAddress): Buffer {
  const ip = ipToBytes(addr.address)
  if (!ip || ip.length !== (addr.family === 4 ? 4 : 16))
    throw new TypeError(`not an IPv${addr.family} address: ${addr.address}`)
  const out = Buffer.alloc(4 + ip.length)
  out[1] = addr.family === 4 ? FAMILY_V4 : FAMILY_V6
  out.writeUInt16BE(addr.port, 2)
  ip.copy(out, 4)
  return out
}

/** XOR with the magic cookie (and the transaction ID for IPv6); the operation is its own inverse. */
function xorInPlace(value: Buffer, transactionId: Buffer): Buffer {
  value.writeUInt16BE(value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16), 2)
  const key = Buffer.alloc(16)
  key.writeUInt32BE(MAGIC_COOKIE, 0)
  transactionId.copy(key, 4)
  for (let i = 4; i < value.length; i++) value[i] = value[i]! ^ key[i - 4]!
  return value
}

export const addressCodec: AttrCodec<TransportAddress> = {
  decode: (value) => decodeAddress(value),
  encode: (addr) => encodeAddress(addr),
}

export const xorAddressCodec: AttrCodec<TransportAddress> = {
  decode: (value, tid) => (value.length < 4 ? undefined : decodeAddress(xorInPlace(Buffer.from(value), tid))),
  encode: (addr, tid) => xorInPlace(encodeAddress(addr), tid),
}
