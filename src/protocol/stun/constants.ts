/** STUN/TURN protocol constants: RFC 8489 §18 (IANA registries) and RFC 8656 §18. */

export const MAGIC_COOKIE = 0x2112a442
export const HEADER_LENGTH = 20
/** RFC 8489 §14.7: FINGERPRINT is the CRC-32 of the message XOR-ed with this value ("STUN"). */
export const FINGERPRINT_XOR = 0x5354554e

export const StunClass = {
  Request: 0b00,
  Indication: 0b01,
  SuccessResponse: 0b10,
  ErrorResponse: 0b11,
} as const
export type StunClass = (typeof StunClass)[keyof typeof StunClass]

export const Method = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const
export type Method = (typeof Method)[keyof typeof Method]

export const AttrType = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  ADDITIONAL_ADDRESS_FAMILY: 0x8000,
  ADDRESS_ERROR_CODE: 0x8001,
  PASSWORD_ALGORITHMS: 0x8002,
  ICMP: 0x8004,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
  RESPONSE_ORIGIN: 0x802b,
} as const
export type AttrName = keyof typeof AttrType

/** Attribute types 0x0000–0x7FFF are comprehension-required (RFC 8489 §14). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000
}

export const ErrorCode = {
  TryAlternate: 300,
  BadRequest: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  UnknownAttribute: 420,
  AllocationMismatch: 437,
  StaleNonce: 438,
  AddressFamilyNotSupported: 440,
  WrongCredentials: 441,
  UnsupportedTransportProtocol: 442,
  PeerAddressFamilyMismatch: 443,
  AllocationQuotaReached: 486,
  ServerError: 500,
  InsufficientCapacity: 508,
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Reason phrases recommended by RFC 8489 §14.8 and RFC 8656 §18. */
export const ERROR_REASON: Record<ErrorCode, string> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
}

/** RFC 8656 §14: REQUESTED-TRANSPORT protocol numbers. */
export const TRANSPORT_UDP = 17

/** RFC 8489 §18.5: PASSWORD-ALGORITHM values. */
export const PasswordAlgorithm = { MD5: 0x0001, SHA256: 0x0002 } as const
export type PasswordAlgorithm = (typeof PasswordAlgorithm)[keyof typeof PasswordAlgorithm]

/**
 * Channel numbers we accept. RFC 8656 §12 narrowed clients to 0x4000–0x4FFF, but RFC 5766 allowed up to
 * 0x7FFF and deployed clients (coturn's turnutils_uclient among them) still pick from the whole range; the
 * first two bits (01) tell ChannelData from STUN either way, so accepting it costs nothing.
 */
export const CHANNEL_MIN = 0x4000
export const CHANNEL_MAX = 0x7fff

export function encodeMessageType(method: number, cls: StunClass): number {
  return (
    ((method & 0xf80) << 2) |
    ((method & 0x070) << 1) |
    (method & 0x00f) |
    ((cls & 0b10) << 7) |
    ((cls & 0b01) << 4)
  )
}

export function decodeMessageType(type: number): { method: number; cls: StunClass } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f)
  const cls = (((type & 0x0100) >> 7) | ((type & 0x0010) >> 4)) as StunClass
  return { method, cls }
}
