import { randomInt } from 'node:crypto'
import {
  RTP_EXTENSION_URI,
  RtcpTransportLayerFeedback,
  TransportWideCC,
  type RTCDtlsTransport,
  type RTCPeerConnection,
  type RTCRtpTransceiver,
  type RtcpPacket,
  type RtpPacket,
} from 'werift'
import { systemStallClock, type StallClock } from './mediaGuard'
import { parseTwcc, type TwccFeedback } from './bwe/twcc'
import { TWCC_FEEDBACK_INTERVAL_MS, TwccRecorder } from './bwe/twccRecorder'

/**
 * Transport-wide congestion control on a werift PeerConnection (docs/media.md "Bandwidth estimation"):
 * the glue between werift's transport and the pure parts in `bwe/`.
 *
 * Receiving: werift's own `ReceiverTWCC` is not used (the codecs leave `transport-cc` out of their RTCP
 * feedback, so werift never starts it): it runs one per receiver although the numbers are transport-wide
 * (an audio report spans the video packets between its own and claims them received with no time), counts
 * unreceived packets into its runs, never starts its timer (a report waits for 11 packets), and loses up to
 * 64 ms on every report by truncating its reference time. `TwccFeedbackSender` reads every RTP packet the
 * DTLS transport decrypts (before werift routes it, so packets of an SSRC no m-line names count too) and
 * sends `TwccRecorder`'s reports every 50 ms, all the senders of one clock from one timer (a conference
 * server has one per participant: each with a timer of its own woke the process 20 times a second).
 *
 * Sending: `onTwccFeedback` hands every transport-wide feedback werift parsed to a listener as our own
 * parse (werift's `packetResults` skips status-vector chunks). werift keeps no raw bytes of an RTCP packet,
 * so its parse is written back with its serializer, which reproduces the chunks and deltas it read (pinned
 * in twccTransport.test.ts).
 */

export const TWCC_EXTENSION_URI = RTP_EXTENSION_URI.transportWideCC

/**
 * The header-extension id a transceiver sends transport-wide sequence numbers under, once negotiated.
 * werift numbers the extensions of each kind on its own (audio 1, video 2 here), so in one bundle the same
 * URI has one id per kind; `receivedTwccIds` accepts them all.
 */
export function twccExtensionId(transceiver: RTCRtpTransceiver): number | undefined {
  return transceiver.headerExtensions.find((e) => e.uri === TWCC_EXTENSION_URI)?.id
}

/** Every id the PeerConnection receives transport-wide sequence numbers under. */
export function receivedTwccIds(pc: RTCPeerConnection): number[] {
  return Object.entries(pc.extIdUriMap)
    .filter(([, uri]) => uri === TWCC_EXTENSION_URI)
    .map(([id]) => Number(id))
}

/** The transport-wide sequence number in a received packet, or undefined. */
export function readTwccSequence(packet: RtpPacket, ids: readonly number[]): number | undefined {
  const ext = packet.header.extensions.find((e) => ids.includes(e.id))
  return ext && ext.payload.length >= 2 ? ext.payload.readUInt16BE(0) : undefined
}

/** Writes the transport-wide sequence number into an outgoing packet (werift keeps an extension we set). */
export function writeTwccSequence(packet: RtpPacket, id: number, sequence: number): void {
  const payload = Buffer.alloc(2)
  payload.writeUInt16BE(sequence & 0xffff)
  const extensions = packet.header.extensions.filter((e) => e.id !== id)
  extensions.push({ id, payload })
  packet.header.extensions = extensions
}

/** A raw RTCP packet werift's `sendRtcp` can carry (it only calls `serialize`). */
function rawRtcp(bytes: Uint8Array): RtcpPacket {
  return { serialize: () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) } as RtcpPacket
}

export interface TwccFeedbackSenderOptions {
  /** The stall watch's clock shape (the engine's and the server's injectable clocks have it). */
  clock?: StallClock
  /** µs on the receiver's clock; default: `clock.now()` × 1000. */
  nowUs?: () => number
}

/** The receiver's feedback for every transport of a PeerConnection; `stop()` ends it. */
export class TwccFeedbackSender {
  private readonly clock: StallClock
  private readonly recorders = new Map<RTCDtlsTransport, TwccRecorder>()
  private readonly unsubscribe: (() => void)[] = []
  private readonly senderSsrc = randomInt(1, 0xffffffff)
  private readonly nowUs: () => number
  private extensionIds: number[] = []
  private lastSsrc = 0
  private readonly ticker: FeedbackTicker
  private readonly flushBound = () => this.flush()
  /** Feedback packets sent, for tests and statistics. */
  sent = 0

  constructor(
    private readonly pc: RTCPeerConnection,
    options: TwccFeedbackSenderOptions = {},
  ) {
    this.clock = options.clock ?? systemStallClock
    this.nowUs = options.nowUs ?? (() => this.clock.now() * 1000)
    this.attach()
    this.ticker = FeedbackTicker.of(this.clock)
    this.ticker.add(this.flushBound)
  }

  stop(): void {
    this.ticker.delete(this.flushBound)
    for (const off of this.unsubscribe) off()
  }

  /** Starts recording on transports werift made since the last look (with max-bundle: one, at the start). */
  private attach(): void {
    for (const dtls of this.pc.dtlsTransports) {
      if (this.recorders.has(dtls)) continue
      const recorder = new TwccRecorder(this.senderSsrc, () => this.lastSsrc)
      this.recorders.set(dtls, recorder)
      const { unSubscribe } = dtls.onRtp.subscribe((packet) => {
        // The ids are known once a description is applied; until then there is nothing to read.
        if (this.extensionIds.length === 0) this.extensionIds = receivedTwccIds(this.pc)
        const sequence = readTwccSequence(packet, this.extensionIds)
        if (sequence === undefined) return
        this.lastSsrc = packet.header.ssrc
        recorder.onPacket(sequence, this.nowUs())
      })
      this.unsubscribe.push(unSubscribe)
    }
  }

  private flush(): void {
    this.attach()
    // A later negotiation may add a kind (and its id).
    this.extensionIds = receivedTwccIds(this.pc)
    for (const [dtls, recorder] of this.recorders) {
      const packets = recorder.take()
      if (packets.length === 0 || dtls.state !== 'connected') continue
      this.sent += packets.length
      dtls.sendRtcp(packets.map(rawRtcp)).catch(() => undefined)
    }
  }
}

/** One timer every 50 ms for the feedback senders of one clock, running while any is registered. */
class FeedbackTicker {
  private static readonly byClock = new WeakMap<StallClock, FeedbackTicker>()
  private readonly flushes = new Set<() => void>()
  private timer: unknown

  private constructor(private readonly clock: StallClock) {}

  static of(clock: StallClock): FeedbackTicker {
    let ticker = FeedbackTicker.byClock.get(clock)
    if (!ticker) {
      ticker = new FeedbackTicker(clock)
      FeedbackTicker.byClock.set(clock, ticker)
    }
    return ticker
  }

  add(flush: () => void): void {
    this.flushes.add(flush)
    if (this.timer === undefined) this.schedule()
  }

  delete(flush: () => void): void {
    this.flushes.delete(flush)
    if (this.flushes.size > 0 || this.timer === undefined) return
    this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      for (const flush of this.flushes) flush()
      if (this.flushes.size > 0 && this.timer === undefined) this.schedule()
    }, TWCC_FEEDBACK_INTERVAL_MS)
  }
}

/** Calls `listener` with each transport-wide feedback the PeerConnection receives; returns the unsubscribe. */
export function onTwccFeedback(
  pc: RTCPeerConnection,
  listener: (feedback: TwccFeedback) => void,
): () => void {
  const offs = pc.dtlsTransports.map(
    (dtls) =>
      dtls.onRtcp.subscribe((packet) => {
        if (!(packet instanceof RtcpTransportLayerFeedback)) return
        if (!(packet.feedback instanceof TransportWideCC)) return
        const parsed = parseTwcc(packet.serialize())
        if (parsed !== null) listener(parsed)
      }).unSubscribe,
  )
  return () => offs.forEach((off) => off())
}
