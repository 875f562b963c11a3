/** Test-only: STUN requests whose framing is sound but one attribute value is not (issue 10 item 7). */
import { crc32 } from 'node:zlib'
import {
  AttrType,
  FINGERPRINT_XOR,
  MAGIC_COOKIE,
  Method,
  StunClass,
  encodeMessageType,
} from '../../src/protocol/stun/constants'

export function tlv(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4)
  out.writeUInt16BE(type, 0)
  out.writeUInt16BE(value.length, 2)
  value.copy(out, 4)
  return out
}

/** A message of `cls`/`method` carrying `attributes` as given, with a correct FINGERPRINT when asked. */
export function rawMessage(
  method: number,
  transactionId: Buffer,
  attributes: Buffer[],
  { cls = StunClass.Request, fingerprint = true }: { cls?: StunClass; fingerprint?: boolean } = {},
): Buffer {
  const body = Buffer.concat(attributes)
  const header = Buffer.alloc(20)
  header.writeUInt16BE(encodeMessageType(method, cls), 0)
  header.writeUInt16BE(body.length + (fingerprint ? 8 : 0), 2)
  header.writeUInt32BE(MAGIC_COOKIE, 4)
  transactionId.copy(header, 8)
  if (!fingerprint) return Buffer.concat([header, body])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE((crc32(body, crc32(header)) ^ FINGERPRINT_XOR) >>> 0, 0)
  return Buffer.concat([header, body, tlv(AttrType.FINGERPRINT, crc)])
}

const peerV4 = Buffer.from([0, 0x01, 0x21, 0x12, 1, 2, 3, 4])

/** Each case: the request, the attribute it spoils, and that attribute's bad value. */
export const MALFORMED_VALUES: [name: string, method: number, attribute: number, value: Buffer][] = [
  ['truncated XOR-PEER-ADDRESS', Method.CreatePermission, AttrType.XOR_PEER_ADDRESS, peerV4.subarray(0, 6)],
  [
    'XOR-PEER-ADDRESS of address family 7',
    Method.CreatePermission,
    AttrType.XOR_PEER_ADDRESS,
    Buffer.from([0, 7, ...peerV4.subarray(2)]),
  ],
  [
    'XOR-PEER-ADDRESS of family IPv6 with 4 address bytes',
    Method.ChannelBind,
    AttrType.XOR_PEER_ADDRESS,
    Buffer.from([0, 2, ...peerV4.subarray(2)]),
  ],
  ['XOR-PEER-ADDRESS of 3 bytes', Method.CreatePermission, AttrType.XOR_PEER_ADDRESS, Buffer.from([0, 1, 0])],
  ['2-byte CHANNEL-NUMBER', Method.ChannelBind, AttrType.CHANNEL_NUMBER, Buffer.from([0x40, 0x01])],
  ['2-byte LIFETIME', Method.Refresh, AttrType.LIFETIME, Buffer.from([0, 60])],
  ['1-byte REQUESTED-TRANSPORT', Method.Allocate, AttrType.REQUESTED_TRANSPORT, Buffer.from([17])],
  ['DONT-FRAGMENT with a value', Method.Allocate, AttrType.DONT_FRAGMENT, Buffer.from([0, 0, 0, 1])],
  ['empty EVEN-PORT', Method.Allocate, AttrType.EVEN_PORT, Buffer.alloc(0)],
  ['USERNAME of 600 bytes', Method.Allocate, AttrType.USERNAME, Buffer.alloc(600, 0x61)],
  ['MESSAGE-INTEGRITY of 10 bytes', Method.Refresh, AttrType.MESSAGE_INTEGRITY, Buffer.alloc(10)],
]
