import type { TransportAddress } from '../../../protocol/stun/attributes/address'
import { ERROR_REASON, StunClass, type ErrorCode } from '../../../protocol/stun/constants'
import { encodeMessage, type Attribute, type DecodedMessage } from '../../../protocol/stun/message'

/** Credentials that sign a response: present once the request itself authenticated (RFC 8489 §9.2.4). */
export interface Signer {
  key: Buffer
  integrity: 'sha1' | 'sha256'
}

export function successResponse(
  request: DecodedMessage,
  software: string,
  attributes: Attribute[],
  signer?: Signer,
): Buffer {
  return encodeMessage(
    {
      cls: StunClass.SuccessResponse,
      method: request.method,
      transactionId: request.transactionId,
      attributes: [...attributes, { name: 'SOFTWARE', value: software }],
    },
    { integrityKey: signer?.key, integrity: signer?.integrity, fingerprint: true },
  )
}

export function errorResponse(
  request: Pick<DecodedMessage, 'method' | 'transactionId'>,
  software: string,
  code: ErrorCode,
  extra: Attribute[] = [],
  signer?: Signer,
): Buffer {
  return encodeMessage(
    {
      cls: StunClass.ErrorResponse,
      method: request.method,
      transactionId: request.transactionId,
      attributes: [
        { name: 'ERROR_CODE', value: { code, reason: ERROR_REASON[code] } },
        ...extra,
        { name: 'SOFTWARE', value: software },
      ],
    },
    { integrityKey: signer?.key, integrity: signer?.integrity, fingerprint: true },
  )
}

const DATA_INDICATION_TYPE = 0x0017
const XOR_PEER_ADDRESS = 0x0012
const DATA = 0x0013

/**
 * Data indication (RFC 8656 §11.4) built straight into one buffer: this is the per-packet path for peers
 * without a channel, so it avoids the generic encoder.
 */
export function dataIndication(
  peer: TransportAddress,
  payload: Buffer,
  transactionId: Buffer,
  peerIpBytes: Buffer,
): Buffer {
  const addrLength = peer.family === 4 ? 8 : 20
  const padded = (payload.length + 3) & ~3
  const bodyLength = 4 + addrLength + 4 + padded
  const out = Buffer.allocUnsafe(20 + bodyLength)
  out.writeUInt16BE(DATA_INDICATION_TYPE, 0)
  out.writeUInt16BE(bodyLength, 2)
  out.writeUInt32BE(0x2112a442, 4)
  transactionId.copy(out, 8)
  let o = 20
  out.writeUInt16BE(XOR_PEER_ADDRESS, o)
  out.writeUInt16BE(addrLength, o + 2)
  out[o + 4] = 0
  out[o + 5] = peer.family === 4 ? 1 : 2
  out.writeUInt16BE(peer.port ^ 0x2112, o + 6)
  // XOR key: magic cookie, then the transaction ID (RFC 8489 §14.2).
  for (let i = 0; i < peerIpBytes.length; i++) out[o + 8 + i] = peerIpBytes[i]! ^ out[4 + i]!
  o += 4 + addrLength
  out.writeUInt16BE(DATA, o)
  out.writeUInt16BE(payload.length, o + 2)
  payload.copy(out, o + 4)
  out.fill(0, o + 4 + payload.length, o + 4 + padded)
  return out
}
