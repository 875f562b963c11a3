import type { Socket } from 'node:dgram'
import { performance } from 'node:perf_hooks'
import { RtpHeader, type RtcpPacket, type RtpPacket, type RTCRtpTransceiver } from 'werift'
import { twccExtensionId } from '../../protocol/media/twccTransport'
import { loadMediaAddon, udpSocketFd, type MediaAddonLoad } from '../../platform/nativeAddon'
import { SrtpGcmOut, type Destination, type RtpFields, type SrtpContextInternals } from './srtpOut'
import { nodeSenderReports, type SenderReports } from './senderReports'

/**
 * The conference server's send path for a forwarded RTP packet (docs/sfu.md "Forwarding cost"): one
 * subscriber's copy of the header, encrypted with werift's SRTP session and written to werift's ICE
 * connection, with the sender's bookkeeping werift's RTCP and NACK handling read.
 *
 * werift's `RTCRtpSender.sendRtp` does the same with a lot more per packet: it clones the packet, rebuilds
 * the header-extension list for every extension it knows (map, filter, find, sort), computes an NTP time
 * through a string split, feeds its own sender-side estimator (unused here) and goes through five awaited
 * calls; with the publisher's extensions merged back it also forwarded the publisher's transport-wide
 * sequence number in place of the subscriber transport's own. Here the header carries what the server
 * negotiates and nothing else: the payload type and SSRC of the subscriber's m-line, the sequence number
 * and timestamp with werift's continuity offsets, and the transport's own transport-wide sequence number.
 *
 * werift keeps doing what it knows best and this path leaves alone: the offsets (a packet sent while a
 * continuity rewrite is pending, after `replaceRTP`, goes through werift, which fixes them), SRTP (its
 * session, so the rollover counter stays one) and NACKs (its history holds the packets sent here). The
 * sender reports, from the counters set here, go out with the node's other senders' (senderReports.ts)
 * instead of from a werift loop per sender. werift keeps those fields private; `SenderInternals` names
 * them, and rtpOut.test.ts fails when a werift upgrade moves one.
 */
export class RtpOut {
  private twccId: number | undefined
  /** SRTP for the DTLS transport's current session (a new DTLS handshake makes a new one). */
  private srtp: { session: object; gcm: SrtpGcmOut | undefined } | undefined
  /** Packets sent here rather than through werift's `sendRtp` (tests, and to see it taken). */
  fastPackets = 0

  /** Of those, packets encrypted and sent by the native addon (`pinhole_media`). */
  nativePackets = 0

  /**
   * `addon`: the native SRTP send (default: loaded when built; `{ ok: false }` keeps node:crypto and dgram).
   * `reports`: the sender reports of the m-line's sender (default: the node's one timer, senderReports.ts).
   */
  constructor(
    private readonly transceiver: RTCRtpTransceiver,
    private readonly addon: MediaAddonLoad = loadMediaAddon(),
    private readonly reports: SenderReports = nodeSenderReports,
  ) {}

  /**
   * Sends `packet` (the publisher's, or a layer forwarder's renumbered copy) on the transceiver's m-line.
   * Undefined when it is already with the kernel (no promise per packet and subscriber), else werift's or
   * dgram's promise.
   */
  send(packet: RtpPacket): Promise<void> | undefined {
    const sender = this.transceiver.sender as unknown as SenderInternals
    const dtls = sender.dtlsTransport
    const codec = sender.codec
    const pair = dtls?.iceTransport.connection.nominated
    // Before werift's send below would start its own report loop for the sender.
    if (dtls && !sender.rtcpRunning) this.reports.add(sender, dtls)
    if (
      sender.stopped ||
      !codec ||
      dtls?.state !== 'connected' ||
      !dtls.srtp ||
      !pair ||
      sender.rtpContinuityPending ||
      sender.redRedundantPayloadType !== undefined ||
      sender.rtpCache === undefined
    ) {
      if (dtls) dgramThisTurn(dtls)
      return this.transceiver.sender.sendRtp(packet)
    }
    const { payload } = packet
    const fields: RtpFields = {
      marker: packet.header.marker,
      payloadType: codec.payloadType,
      sequenceNumber: (packet.header.sequenceNumber + sender.seqOffset) & 0xffff,
      timestamp: (packet.header.timestamp + sender.timestampOffset) >>> 0,
      ssrc: sender.ssrc,
      twcc: this.twcc(dtls),
    }
    sender.sequenceNumber = fields.sequenceNumber
    sender.timestamp = fields.timestamp
    sender.ntpTimestamp = ntpNow()
    sender.rtpTimestamp = fields.timestamp
    sender.octetCount += payload.length
    sender.packetCount = (sender.packetCount + 1) >>> 0
    // werift answers NACKs from this history (re-encrypting with the same session and counter).
    const sent = new SentPacket(fields, payload)
    sender.rtpCache[fields.sequenceNumber % RTP_HISTORY_SIZE] = sent
    const gcm = this.gcm(dtls.srtp)
    this.fastPackets++
    dtls.packetsSent++
    const to = gcm?.isNative && !viaDgram.has(dtls) ? destination(pair) : undefined
    const encrypted = gcm ? gcm.protectOrSend(fields, payload, to) : dtls.srtp.encrypt(payload, sent.header)
    if (typeof encrypted === 'number') {
      this.nativePackets++
      dtls.bytesSent += encrypted
      pair.packetsSent++
      pair.bytesSent += encrypted
      return undefined
    }
    dtls.bytesSent += encrypted.length
    dgramThisTurn(dtls)
    return sendOn(pair, encrypted, dtls)
  }

  /** The next transport-wide sequence number, once negotiated (werift's counter: one per transport). */
  private twcc(dtls: DtlsInternals): RtpFields['twcc'] {
    this.twccId ??= twccExtensionId(this.transceiver)
    if (this.twccId === undefined) return undefined
    dtls.transportSequenceNumber = (dtls.transportSequenceNumber + 1) & 0xffff
    return { id: this.twccId, sequence: dtls.transportSequenceNumber }
  }

  private gcm(session: SrtpSessionInternals): SrtpGcmOut | undefined {
    if (this.srtp?.session !== session)
      this.srtp = { session, gcm: SrtpGcmOut.of(session.localContext, this.addon) }
    return this.srtp.gcm
  }
}

/**
 * Transports on which a packet went through werift or dgram in this turn of the event loop: dgram reaches
 * the kernel a tick later, the native send at once, so until the next turn that transport's packets (all
 * its m-lines: they share the transport-wide sequence) go the same way and none overtakes it.
 */
const viaDgram = new WeakSet<object>()

function dgramThisTurn(dtls: object): void {
  if (viaDgram.has(dtls)) return
  viaDgram.add(dtls)
  setImmediate(() => viaDgram.delete(dtls))
}

/**
 * werift's history entry (`rtpCache`) for a packet sent here. werift reads it only to answer a NACK
 * (`header`, `payload`, as an RtpPacket), so the header object is built then, not for every packet.
 */
class SentPacket {
  private built: RtpHeader | undefined

  constructor(
    private readonly fields: RtpFields,
    readonly payload: Buffer,
  ) {}

  get header(): RtpHeader {
    if (this.built) return this.built
    const { marker, payloadType, sequenceNumber, timestamp, ssrc, twcc } = this.fields
    const extensions = twcc ? [{ id: twcc.id, payload: uint16(twcc.sequence) }] : []
    this.built = new RtpHeader({ marker, payloadType, sequenceNumber, timestamp, ssrc, extensions })
    return this.built
  }
}

function uint16(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(2)
  bytes.writeUInt16BE(value & 0xffff, 0)
  return bytes
}

/** The nominated pair's plain UDP socket and remote address for the native send, else undefined. */
function destination(pair: CandidatePairInternals): Destination | undefined {
  const transport = pair.protocol?.transport
  const [address, port] = pair.remoteAddr ?? []
  if (transport?.type !== 'udp' || transport.closed || !transport.socket || !address || !port)
    return undefined
  const fd = udpSocketFd(transport.socket)
  return fd === undefined ? undefined : { fd, address, port }
}

/**
 * Straight to the nominated pair's UDP socket: werift's `connection.send` reaches the same `socket.send`
 * through four awaited calls and an address check per packet. Anything else (a socket werift has closed,
 * a pair that is not plain UDP) goes through werift.
 */
function sendOn(pair: CandidatePairInternals, data: Buffer, dtls: DtlsInternals): Promise<void> {
  const transport = pair.protocol?.transport
  const [address, port] = pair.remoteAddr ?? []
  if (transport?.type !== 'udp' || transport.closed || !transport.socket || !address || !port) {
    return dtls.iceTransport.connection.send(data)
  }
  transport.socket.send(data, port, address)
  pair.packetsSent++
  pair.bytesSent += data.length
  return Promise.resolve()
}

/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800
const TWO_32 = 2 ** 32

/** Now as a 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900 and their binary fraction. */
export function ntpNow(unixMs = performance.timeOrigin + performance.now()): bigint {
  const seconds = unixMs / 1000 + NTP_UNIX_OFFSET_S
  const whole = Math.floor(seconds)
  const fraction = Math.floor((seconds - whole) * TWO_32)
  return (BigInt(whole) << 32n) | BigInt(fraction)
}

/** werift 0.25's sender history length (`rtpCache` is indexed by sequence number modulo it). */
export const RTP_HISTORY_SIZE = 128

/** The werift (0.25) RTCRtpSender fields this path reads and keeps up to date (private in its typings). */
export interface SenderInternals {
  readonly ssrc: number
  stopped: boolean
  rtcpRunning: boolean
  runRtcp: () => Promise<void>
  codec?: { payloadType: number }
  dtlsTransport?: DtlsInternals
  rtpContinuityPending: boolean
  redRedundantPayloadType?: number
  seqOffset: number
  timestampOffset: number
  sequenceNumber?: number
  timestamp?: number
  ntpTimestamp: bigint
  rtpTimestamp: number
  octetCount: number
  packetCount: number
  rtpCache: ({ header: RtpHeader; payload: Buffer } | undefined)[]
}

interface DtlsInternals {
  state: string
  sendRtcp: (packets: RtcpPacket[]) => Promise<unknown>
  srtp?: SrtpSessionInternals
  transportSequenceNumber: number
  bytesSent: number
  packetsSent: number
  iceTransport: { connection: { nominated?: CandidatePairInternals; send: (data: Buffer) => Promise<void> } }
}

interface SrtpSessionInternals {
  encrypt: (payload: Buffer, header: RtpHeader) => Buffer
  localContext?: SrtpContextInternals
}

interface CandidatePairInternals {
  protocol?: { transport?: { type?: string; closed?: boolean; socket?: Socket } }
  remoteAddr?: readonly [string, number]
  packetsSent: number
  bytesSent: number
}
