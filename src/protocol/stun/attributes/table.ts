import { AttrType, type AttrName } from '../constants'
import { addressCodec, xorAddressCodec, type TransportAddress } from './address'
import type { AttrCodec } from './codec'
import { errorCodeCodec, unknownAttributesCodec, type ErrorValue } from './errorCode'
import {
  passwordAlgorithmCodec,
  passwordAlgorithmsCodec,
  type PasswordAlgorithmValue,
} from './passwordAlgorithm'
import {
  bytesCodec,
  emptyCodec,
  evenPortCodec,
  fixedBytesCodec,
  textCodec,
  uint16HighCodec,
  uint32Codec,
  uint64Codec,
  uint8HighCodec,
} from './primitives'

/** The value type of every attribute we understand: the one place attribute values are typed. */
export interface AttrValues {
  MAPPED_ADDRESS: TransportAddress
  USERNAME: string
  MESSAGE_INTEGRITY: Buffer
  ERROR_CODE: ErrorValue
  UNKNOWN_ATTRIBUTES: number[]
  CHANNEL_NUMBER: number
  LIFETIME: number
  XOR_PEER_ADDRESS: TransportAddress
  DATA: Buffer
  REALM: string
  NONCE: string
  XOR_RELAYED_ADDRESS: TransportAddress
  REQUESTED_ADDRESS_FAMILY: number
  EVEN_PORT: { reserveNext: boolean }
  REQUESTED_TRANSPORT: number
  DONT_FRAGMENT: true
  MESSAGE_INTEGRITY_SHA256: Buffer
  PASSWORD_ALGORITHM: PasswordAlgorithmValue
  USERHASH: Buffer
  XOR_MAPPED_ADDRESS: TransportAddress
  RESERVATION_TOKEN: Buffer
  PRIORITY: number
  USE_CANDIDATE: true
  ADDITIONAL_ADDRESS_FAMILY: number
  ADDRESS_ERROR_CODE: ErrorValue
  PASSWORD_ALGORITHMS: PasswordAlgorithmValue[]
  ICMP: Buffer
  SOFTWARE: string
  ALTERNATE_SERVER: TransportAddress
  FINGERPRINT: number
  ICE_CONTROLLED: bigint
  ICE_CONTROLLING: bigint
  RESPONSE_ORIGIN: TransportAddress
}

// Compile-time check that every registered name has a value type and vice versa.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
const _allNamed: Exact<keyof AttrValues, AttrName> = true
void _allNamed

type CodecTable = { [K in AttrName]: AttrCodec<AttrValues[K]> }

/** RFC 8489 §14 / RFC 8656 §14: one codec per attribute. */
export const CODECS: CodecTable = {
  MAPPED_ADDRESS: addressCodec,
  USERNAME: textCodec(508), // RFC 8489 §14.3: fewer than 509 bytes
  MESSAGE_INTEGRITY: fixedBytesCodec(20),
  ERROR_CODE: errorCodeCodec,
  UNKNOWN_ATTRIBUTES: unknownAttributesCodec,
  CHANNEL_NUMBER: uint16HighCodec,
  LIFETIME: uint32Codec,
  XOR_PEER_ADDRESS: xorAddressCodec,
  DATA: bytesCodec,
  REALM: textCodec(763),
  NONCE: textCodec(763),
  XOR_RELAYED_ADDRESS: xorAddressCodec,
  REQUESTED_ADDRESS_FAMILY: uint8HighCodec,
  EVEN_PORT: evenPortCodec,
  REQUESTED_TRANSPORT: uint8HighCodec,
  DONT_FRAGMENT: emptyCodec,
  MESSAGE_INTEGRITY_SHA256: {
    // RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4.
    decode: (v) => (v.length >= 16 && v.length <= 32 && v.length % 4 === 0 ? v : undefined),
    encode: (v) => v,
  },
  PASSWORD_ALGORITHM: passwordAlgorithmCodec,
  USERHASH: fixedBytesCodec(32),
  XOR_MAPPED_ADDRESS: xorAddressCodec,
  RESERVATION_TOKEN: fixedBytesCodec(8),
  PRIORITY: uint32Codec,
  USE_CANDIDATE: emptyCodec,
  ADDITIONAL_ADDRESS_FAMILY: uint8HighCodec,
  ADDRESS_ERROR_CODE: errorCodeCodec,
  PASSWORD_ALGORITHMS: passwordAlgorithmsCodec,
  ICMP: bytesCodec,
  SOFTWARE: textCodec(763),
  ALTERNATE_SERVER: addressCodec,
  FINGERPRINT: uint32Codec,
  ICE_CONTROLLED: uint64Codec,
  ICE_CONTROLLING: uint64Codec,
  RESPONSE_ORIGIN: addressCodec,
}

const NAME_BY_TYPE = new Map<number, AttrName>(
  (Object.entries(AttrType) as [AttrName, number][]).map(([name, type]) => [type, name]),
)

export function attrNameOf(type: number): AttrName | undefined {
  return NAME_BY_TYPE.get(type)
}
