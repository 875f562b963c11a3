import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { ProtectionProfileAeadAes128Gcm } from 'werift'
import {
  loadMediaAddon,
  type MediaAddon,
  type MediaAddonLoad,
  type SrtpGcmSender,
} from '../../platform/nativeAddon'

/**
 * The bytes of a forwarded RTP packet as the subscriber receives them (docs/sfu.md "Forwarding cost"): the
 * header written straight into the output buffer, then the payload encrypted behind it with
 * AEAD_AES_128_GCM (RFC 7714), the profile werift prefers and browsers offer. No header object serialised
 * field by field, no concatenation: werift's own encryption serialises its header object, builds the IV
 * through a generic field writer and concatenates three buffers.
 *
 * With the native addon (`pinhole_media`, src/platform/nativeAddon.ts) one OpenSSL context per key serves
 * every packet (node:crypto has no way to reuse a GCM context with a new IV, so without the addon one is
 * created per packet, the largest part of the cost), the packet is built in a native scratch buffer and
 * sent with sendto on werift's socket in the same call. Without the addon: node:crypto, one buffer per
 * packet and subscriber; the bytes are the same (srtpOut.test.ts).
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

/** The addon's keyed context; undefined (node:crypto) if it refuses the key rather than failing the send. */
function nativeSender(addon: MediaAddon | undefined, key: Buffer, salt: Buffer): SrtpGcmSender | undefined {
  try {
    return addon?.createSrtpGcmSender(key, salt)
  } catch {
    return undefined
  }
}

/** Where the native path sends a packet: a bound UDP socket's descriptor and the remote address. */
export interface Destination {
  fd: number
  address: string
  port: number
}

/** SRTP with AEAD_AES_128_GCM for one direction of one DTLS transport, with werift's keys and counter. */
export class SrtpGcmOut {
  private readonly key: KeyObject
  private readonly salt: Buffer
  /** createCipheriv copies the IV: one buffer serves every packet. */
  private readonly iv = Buffer.alloc(GCM_IV_BYTES)
  /** The SSRC state werift's context keeps for the last SSRC (one per m-line: looked up once). */
  private state: { ssrc: number; value: { rolloverCounter: number } } | undefined
  /** The keyed native context, when the addon loaded. */
  private readonly native: SrtpGcmSender | undefined

  private constructor(
    private readonly context: SrtpContextInternals,
    key: Buffer,
    salt: Buffer,
    addon: MediaAddon | undefined,
  ) {
    this.key = createSecretKey(key)
    this.salt = salt.subarray(0, GCM_IV_BYTES)
    this.native = nativeSender(addon, key, this.salt)
  }

  /**
   * For werift's local SRTP context when it protects with AEAD_AES_128_GCM, else undefined. `addon` (the
   * native one by default; `{ ok: false }` for node:crypto only) does the cipher and the send when loaded.
   */
  static of(
    context: SrtpContextInternals | undefined,
    addon: MediaAddonLoad = loadMediaAddon(),
  ): SrtpGcmOut | undefined {
    const { srtpSessionKey: key, srtpSessionSalt: salt } = context?.cipher ?? {}
    if (context?.profile !== ProtectionProfileAeadAes128Gcm || !key || !salt || salt.length < GCM_IV_BYTES) {
      return undefined
    }
    return new SrtpGcmOut(context, key, salt, addon.ok ? addon.addon : undefined)
  }

  get isNative(): boolean {
    return this.native !== undefined
  }

  /** The SRTP packet: `fields`' header, `payload` encrypted, the authentication tag. */
  protect(fields: RtpFields, payload: Buffer): Buffer {
    return this.protectOrSend(fields, payload, undefined) as Buffer
  }

  /**
   * With the addon and a `to`, encrypts and sends in one native call (no buffer for JavaScript, no dgram):
   * the bytes sent. Otherwise, or when the kernel refused the datagram (the caller then sends it through
   * dgram, which queues when the socket is full), the SRTP packet.
   */
  protectOrSend(fields: RtpFields, payload: Buffer, to: Destination | undefined): number | Buffer {
    const roc = this.rolloverCounter(fields)
    const native = this.native
    if (!native) return this.protectJs(fields, payload, roc)
    const flags = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f)
    const twcc = fields.twcc ? ((fields.twcc.id & 0xf) << 16) | (fields.twcc.sequence & 0xffff) : 0
    const { sequenceNumber: seq, timestamp, ssrc } = fields
    if (to) {
      const sent = native.send(to.fd, to.address, to.port, flags, seq, timestamp, ssrc, roc, twcc, payload)
      if (sent >= 0) return sent
    }
    return native.protect(flags, seq, timestamp, ssrc, roc, twcc, payload)
  }

  /** werift's rollover counter for the packet, advanced as its own encryption does (once per packet). */
  private rolloverCounter(fields: RtpFields): number {
    if (this.state?.ssrc !== fields.ssrc) {
      this.state = { ssrc: fields.ssrc, value: this.context.getSrtpSsrcState(fields.ssrc) }
    }
    this.context.updateRolloverCount(fields.sequenceNumber, this.state.value)
    return this.state.value.rolloverCounter >>> 0
  }

  private protectJs(fields: RtpFields, payload: Buffer, roc: number): Buffer {
    const headerLength = rtpHeaderLength(fields)
    const out = Buffer.allocUnsafe(headerLength + payload.length + GCM_TAG_BYTES)
    writeRtpHeader(out, fields)
    // RFC 7714 §8.1: 00 00 || SSRC || ROC || SEQ, XOR the session salt.
    const iv = this.iv
    iv.writeUInt16BE(0, 0)
    iv.writeUInt32BE(fields.ssrc >>> 0, 2)
    iv.writeUInt32BE(roc, 6)
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
