import {
  ProtectionProfileAeadAes128Gcm,
  SrtpAuthenticationError,
  type RTCDtlsTransport,
  type RTCPeerConnection,
} from 'werift'
import {
  loadMediaAddon,
  type MediaAddon,
  type MediaAddonLoad,
  type SrtpGcmReceiver,
} from '../../platform/nativeAddon'
import { onEachDtlsTransport } from './dtlsTransports'

/**
 * The conference server's SRTP decryption of the RTP packets its participants send, and of their SRTCP
 * (docs/sfu.md "Forwarding cost"), the mirror of the native send in srtpOut.ts: with the native addon (`pinhole_media`,
 * native/relay/src/srtp_in.cc) one OpenSSL AES-GCM context per SRTP session verifies and decrypts every
 * packet into one buffer. werift's own decryption parses the header into an object, builds the IV through a
 * generic field writer, creates and keys a node:crypto context and copies the packet three times, for
 * every packet; with one publisher and a few subscribers that is a large part of the server's CPU.
 *
 * It takes werift's place in werift's own receive path (the DTLS transport's SRTP session's `decrypt`),
 * which goes on as before with the bytes: the same bytes werift's decryption returns (header as received,
 * plaintext payload, the tag cut off; srtpIn.test.ts), the same rollover counter, kept in werift's state
 * for the SSRC and updated only when the packet is authentic, and werift's error for a packet that is not
 * (werift drops it). Like werift's, the decryption keeps no replay list: a NACK retransmission without RTX
 * carries a sequence number already received. Where the header ends is read as RFC 3550 defines it (from
 * the extension's declared length); werift walks the extension elements, which agrees for every well-formed
 * packet. Only AEAD_AES_128_GCM (the profile werift prefers and browsers offer) is taken over; without the
 * addon or with another profile werift decrypts.
 */

/** werift (0.25)'s SRTP session fields used here (`decrypt` is an own property, replaced per session). */
interface SrtpSessionInternals {
  decrypt: (packet: Buffer) => Buffer
  remoteContext?: RemoteContextInternals
}

interface SsrcState {
  ssrc: number
  rolloverCounter: number
  lastSequenceNumber: number
  rolloverHasProcessed?: boolean
}

/** werift's remote SRTP context: the keys, the per-SSRC rollover state and its update (RFC 3711 §3.3.1). */
interface RemoteContextInternals {
  profile: number
  cipher?: { srtpSessionKey?: Buffer; srtpSessionSalt?: Buffer }
  srtpSSRCStates: Record<number, SsrcState | undefined>
  updateRolloverCount(sequenceNumber: number, state: SsrcState): void
}

/** werift's SRTCP session: its `decrypt` (an own property) and the remote context's SRTCP keys. */
interface SrtcpSessionInternals {
  decrypt: (packet: Buffer) => Buffer
  remoteContext?: {
    profile: number
    cipher?: { srtcpSessionKey?: Buffer; srtcpSessionSalt?: Buffer }
  }
}

interface DtlsTransportInternals {
  srtp?: SrtpSessionInternals
  srtcp?: SrtcpSessionInternals
  updateSrtpSession?: () => void
}

const TAG_BYTES = 16
/** SRTCP's E flag and index behind the tag (RFC 7714 §9). */
const SRTCP_INDEX_BYTES = 4
const RTCP_HEADER = 8
const FIXED_HEADER = 12
const GCM_SALT_BYTES = 12
/** werift's message for a packet that fails authentication. */
const NOT_AUTHENTIC = 'Failed to authenticate SRTP packet'
const RTCP_NOT_AUTHENTIC = 'Failed to authenticate SRTCP packet'

/**
 * Native decryption on every DTLS transport of `pc` (a conference server PeerConnection; call it when it is
 * made), for each SRTP session werift starts on it (a new DTLS handshake makes a new one). `addon`: the
 * native one by default; `{ ok: false }` leaves werift's decryption.
 */
export function decryptNatively(pc: RTCPeerConnection, addon: MediaAddonLoad = loadMediaAddon()): void {
  if (!addon.ok) return
  const native = addon.addon
  onEachDtlsTransport(pc, (transport) =>
    onEachSession(transport as unknown as DtlsTransportInternals, native),
  )
}

function onEachSession(transport: DtlsTransportInternals, addon: MediaAddon): void {
  const update = transport.updateSrtpSession
  if (typeof update !== 'function') return
  transport.updateSrtpSession = () => {
    update.call(transport)
    // werift marks the transport connected only after this returns: nothing here may throw.
    const { srtp, srtcp } = transport
    const rtp = srtp && SrtpGcmIn.of(srtp.remoteContext, addon)?.decrypt
    if (srtp && rtp) srtp.decrypt = rtp
    const rtcp = srtcp && srtcpDecrypt(srtcp, addon)
    if (srtcp && rtcp) srtcp.decrypt = rtcp
    for (const decrypt of [rtp, rtcp]) if (decrypt) nativeDecrypts.add(decrypt)
  }
}

const nativeDecrypts = new WeakSet<object>()

/** Whether `transport`'s current SRTP and SRTCP sessions decrypt natively. */
export function decryptsNatively(transport: RTCDtlsTransport): { rtp: boolean; rtcp: boolean } {
  const { srtp, srtcp } = transport as unknown as DtlsTransportInternals
  const native = (session: { decrypt: object } | undefined) =>
    !!session && nativeDecrypts.has(session.decrypt)
  return { rtp: native(srtp), rtcp: native(srtcp) }
}

/**
 * werift's `SrtcpSession.decrypt` for AEAD_AES_128_GCM, natively: the RTCP packet (header, then the payload
 * decrypted when the E flag says it was encrypted), werift's error when it is not authentic. SRTCP carries
 * its index in the packet: there is no state to keep (werift keeps none either, nor a replay list).
 */
export function srtcpDecrypt(
  session: SrtcpSessionInternals,
  addon: MediaAddon,
): ((packet: Buffer) => Buffer) | undefined {
  const context = session.remoteContext
  const { srtcpSessionKey: key, srtcpSessionSalt: salt } = context?.cipher ?? {}
  if (context?.profile !== ProtectionProfileAeadAes128Gcm || !key || !salt) return undefined
  if (salt.length < GCM_SALT_BYTES) return undefined
  let native: SrtpGcmReceiver
  try {
    native = addon.createSrtpGcmReceiver(key, salt.subarray(0, GCM_SALT_BYTES))
  } catch {
    return undefined
  }
  return (packet) => {
    if (packet.length < RTCP_HEADER + TAG_BYTES + SRTCP_INDEX_BYTES)
      throw new SrtpAuthenticationError(RTCP_NOT_AUTHENTIC)
    const out = Buffer.allocUnsafe(packet.length - TAG_BYTES - SRTCP_INDEX_BYTES)
    if (!native.unprotectRtcp(packet, out)) throw new SrtpAuthenticationError(RTCP_NOT_AUTHENTIC)
    return out
  }
}

/** One SRTP session's decryption of received RTP with AEAD_AES_128_GCM, werift's state and keys. */
export class SrtpGcmIn {
  private constructor(
    private readonly context: RemoteContextInternals,
    private readonly native: SrtpGcmReceiver,
  ) {}

  /** For werift's remote SRTP context when it uses AEAD_AES_128_GCM and the addon takes its key. */
  static of(context: RemoteContextInternals | undefined, addon: MediaAddon): SrtpGcmIn | undefined {
    const { srtpSessionKey: key, srtpSessionSalt: salt } = context?.cipher ?? {}
    if (context?.profile !== ProtectionProfileAeadAes128Gcm || !key || !salt) return undefined
    if (salt.length < GCM_SALT_BYTES || typeof context.updateRolloverCount !== 'function') return undefined
    try {
      return new SrtpGcmIn(context, addon.createSrtpGcmReceiver(key, salt.subarray(0, GCM_SALT_BYTES)))
    } catch {
      return undefined
    }
  }

  /** The RTP packet as werift's `SrtpSession.decrypt` returns it; werift's error when it is not authentic. */
  readonly decrypt = (packet: Buffer): Buffer => {
    if (packet.length < FIXED_HEADER + TAG_BYTES) throw new SrtpAuthenticationError(NOT_AUTHENTIC)
    const ssrc = packet.readUInt32BE(8)
    const states = this.context.srtpSSRCStates
    const existing = states[ssrc]
    const state = existing ?? { ssrc, rolloverCounter: 0, lastSequenceNumber: 0 }
    const { rolloverCounter, lastSequenceNumber, rolloverHasProcessed } = state
    this.context.updateRolloverCount(packet.readUInt16BE(2), state)
    const out = Buffer.allocUnsafe(packet.length - TAG_BYTES)
    if (!this.native.unprotect(packet, state.rolloverCounter >>> 0, out)) {
      // As werift: the state moves only with an authentic packet.
      state.rolloverCounter = rolloverCounter
      state.lastSequenceNumber = lastSequenceNumber
      state.rolloverHasProcessed = rolloverHasProcessed
      throw new SrtpAuthenticationError(NOT_AUTHENTIC)
    }
    if (!existing) states[ssrc] = state
    return out
  }
}
