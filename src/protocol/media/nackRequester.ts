import {
  GenericNack,
  RtcpTransportLayerFeedback,
  type RTCPeerConnection,
  type RTCRtpReceiver,
  type RtpPacket,
} from 'werift'
import { systemStallClock, type StallClock as Clock } from './mediaGuard'
import { NackScheduler, nackItems } from './nackScheduler'

/**
 * Puts `NackRequester` (nackScheduler.ts) in place of werift's NackHandler on every receiver of `pc`,
 * before any packet arrives. werift calls the handler by property (`receiver.nack.addPacket` for each
 * video packet when the m-line negotiated NACK, `receiver.nack.close` when the receiver stops); its
 * `onPacketLost` event (the receiver's NACK count) is kept and fired for each NACK sent.
 */
export function requestRetransmissions(pc: RTCPeerConnection, clock: Clock = systemStallClock): void {
  pc.onTransceiverAdded.subscribe((transceiver) => {
    const receiver = transceiver.receiver
    ;(receiver as unknown as { nack: NackRequester }).nack = new NackRequester(receiver, clock)
  })
}

/** One receiver's NACKs: the scheduler's decisions, sent as one generic NACK per due time. */
export class NackRequester {
  readonly onPacketLost: RTCRtpReceiver['onPacketLost']
  private readonly scheduler = new NackScheduler()
  private ssrc: number | undefined
  private timer: unknown
  private closed = false

  constructor(
    private readonly receiver: RTCRtpReceiver,
    private readonly clock: Clock,
  ) {
    this.onPacketLost = receiver.onPacketLost
  }

  addPacket(packet: RtpPacket): void {
    if (this.closed) return
    const { ssrc, sequenceNumber } = packet.header
    if (ssrc !== this.ssrc) {
      this.ssrc = ssrc
      this.scheduler.reset()
    }
    if (this.scheduler.received(sequenceNumber, this.clock.now())) this.flush()
  }

  close(): void {
    this.closed = true
    this.clock.clearTimeout(this.timer)
    this.scheduler.reset()
  }

  private flush(): void {
    this.clock.clearTimeout(this.timer)
    this.timer = undefined
    if (this.closed || this.ssrc === undefined) return
    const nowMs = this.clock.now()
    const lost = this.scheduler.due(nowMs)
    if (lost.length > 0) this.send(this.ssrc, lost)
    const next = this.scheduler.nextDueMs()
    if (next === undefined) return
    this.timer = this.clock.setTimeout(() => this.flush(), Math.max(1, next - nowMs))
  }

  private send(mediaSourceSsrc: number, lost: number[]): void {
    const nack = new GenericNack({ senderSsrc: this.receiver.rtcpSsrc, mediaSourceSsrc, lost })
    nack.serialize = () => serializeNack(nack)
    this.receiver.dtlsTransport
      .sendRtcp([new RtcpTransportLayerFeedback({ feedback: nack })])
      .catch(() => undefined) // a transport not (or no longer) up: the next due time asks again
    this.onPacketLost.execute(nack)
  }
}

/** werift's GenericNack serialization, with the items packed across the 16-bit wrap (nackItems). */
function serializeNack(nack: GenericNack): ReturnType<GenericNack['serialize']> {
  const items = nackItems(nack.lost)
  nack.header.length = 2 + items.length
  const out = Buffer.alloc(4 + nack.header.length * 4)
  nack.header.serialize().copy(out, 0)
  out.writeUInt32BE(nack.senderSsrc, 4)
  out.writeUInt32BE(nack.mediaSourceSsrc, 8)
  items.forEach(({ pid, blp }, i) => {
    out.writeUInt16BE(pid, 12 + i * 4)
    out.writeUInt16BE(blp, 14 + i * 4)
  })
  return out
}
