import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { ProtectionProfileAeadAes128Gcm } from 'werift'

/**
 * The bytes of a forwarded RTP packet as the subscriber receives them (docs/sfu.md "Forwarding cost"): the
 * header written straight into the output buffer, then the payload encrypted behind it with
 * AEAD_AES_128_GCM (RFC 7714), the profile werift prefers and browsers offer. One buffer per packet and
 * subscriber, no header object serialised field by field, no concatenation: werift's own encryption
 * serialises its header object, builds the IV through a generic field writer and concatenates three
 * buffers. node:crypto has no way to reuse a GCM context with a new IV, so one is still created per
 * packet (the largest part of what remains).
 *
 * The keys and the rollover counter are werift's, from its SRTP session of the DTLS transport: what it
 * encrypts for the same SSRC (retransmissions from its history) uses the same counter.
 */

export interface RtpFields {
  marker: boolean
  payloadType: number
  sequenceNumber: number
  timestamp: number
  ssrc: number
  /** The transport-wide sequence number and its header-extension id, when negotiated. */
  twcc?: { id: number; sequence: number }
}

/** RFC 8285 one-byte header extension profile. */
const ONE_BYTE_PROFILE = 0xbede
const FIXED_HEADER = 12
/** The profile, its length (one word), and the one-word element: id/len, two bytes, one byte of padding. */
const TWCC_EXTENSION_BYTES = 8

export function rtpHeaderLength(fields: RtpFields): number {
  return FIXED_HEADER + (fields.twcc ? TWCC_EXTENSION_BYTES : 0)
}

/** Writes the RTP header (RFC 3550 §5.1; no CSRC, no padding) at the start of `out`; returns its length. */
export function writeRtpHeader(out: Buffer, fields: RtpFields): number {
  out[0] = fields.twcc ? 0x90 : 0x80 // version 2, extension bit
  out[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f)
  out.writeUInt16BE(fields.sequenceNumber & 0xffff, 2)
  out.writeUInt32BE(fields.timestamp >>> 0, 4)
  out.writeUInt32BE(fields.ssrc >>> 0, 8)
  if (!fields.twcc) return FIXED_HEADER
  out.writeUInt16BE(ONE_BYTE_PROFILE, 12)
  out.writeUInt16BE(1, 14)
  out[16] = (fields.twcc.id << 4) | 1 // length - 1
  out.writeUInt16BE(fields.twcc.sequence & 0xffff, 17)
  out[19] = 0
  return FIXED_HEADER + TWCC_EXTENSION_BYTES
}

/** werift's (0.25) SRTP context fields used here (its typings declare the cipher as the base class). */
export interface SrtpContextInternals {
  profile: number
  cipher: { srtpSessionKey?: Buffer; srtpSessionSalt?: Buffer }
  getSrtpSsrcState(ssrc: number): { rolloverCounter: number }
  updateRolloverCount(sequenceNumber: number, state: { rolloverCounter: number }): void
}

const GCM_TAG_BYTES = 16
const GCM_IV_BYTES = 12

/** SRTP with AEAD_AES_128_GCM for one direction of one DTLS transport, with werift's keys and counter. */
export class SrtpGcmOut {
  private readonly key: KeyObject
  private readonly salt: Buffer
  /** createCipheriv copies the IV: one buffer serves every packet. */
  private readonly iv = Buffer.alloc(GCM_IV_BYTES)

  private constructor(
    private readonly context: SrtpContextInternals,
    key: Buffer,
    salt: Buffer,
  ) {
    this.key = createSecretKey(key)
    this.salt = salt.subarray(0, GCM_IV_BYTES)
  }

  /** For werift's local SRTP context when it protects with AEAD_AES_128_GCM, else undefined. */
  static of(context: SrtpContextInternals | undefined): SrtpGcmOut | undefined {
    const { srtpSessionKey: key, srtpSessionSalt: salt } = context?.cipher ?? {}
    if (context?.profile !== ProtectionProfileAeadAes128Gcm || !key || !salt || salt.length < GCM_IV_BYTES) {
      return undefined
    }
    return new SrtpGcmOut(context, key, salt)
  }

  /** The SRTP packet: `fields`' header, `payload` encrypted, the authentication tag. */
  protect(fields: RtpFields, payload: Buffer): Buffer {
    const headerLength = rtpHeaderLength(fields)
    const out = Buffer.allocUnsafe(headerLength + payload.length + GCM_TAG_BYTES)
    writeRtpHeader(out, fields)
    const state = this.context.getSrtpSsrcState(fields.ssrc)
    this.context.updateRolloverCount(fields.sequenceNumber, state)
    // RFC 7714 §8.1: 00 00 || SSRC || ROC || SEQ, XOR the session salt.
    const iv = this.iv
    iv.writeUInt16BE(0, 0)
    iv.writeUInt32BE(fields.ssrc >>> 0, 2)
    iv.writeUInt32BE(state.rolloverCounter >>> 0, 6)
    iv.writeUInt16BE(fields.sequenceNumber & 0xffff, 10)
    for (let i = 0; i < GCM_IV_BYTES; i++) iv[i] = iv[i]! ^ this.salt[i]!
    const cipher = createCipheriv('aes-128-gcm', this.key, iv)
    cipher.setAAD(out.subarray(0, headerLength))
    const encrypted = cipher.update(payload)
    encrypted.copy(out, headerLength)
    cipher.final() // GCM: no more bytes, it computes the tag
    cipher.getAuthTag().copy(out, headerLength + payload.length)
    return out
  }
}
