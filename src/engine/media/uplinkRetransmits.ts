import type { RTCRtpSender, RTCRtpTransceiver } from 'werift'
import { interceptNacks, RetransmitPacer } from '../../protocol/media/nackPacing'
import {
  BUCKET_MS,
  MIN_BUCKET_BYTES,
  RESERVE,
  RetransmitBucket,
  USEFUL_MS,
  type BucketDecision,
} from '../../protocol/media/retransmitBucket'

/**
 * What the engine retransmits to the conference server (docs/media.md "Recovery"): a retransmission shares
 * the uplink with the media it repairs, so it is paid for from the send target, and only sent while the
 * receiver can still use it. The conference server does the same per subscriber (sfu/media/retransmitBudget.ts).
 *
 * Why: werift's sender answers every NACK at once, beside the pacer and outside the target. On a full uplink
 * each lost packet is asked for again every repair round trip for up to a second (nackScheduler.ts), and
 * the answers, lost in the same queue, are asked for again: in bench:network's `step` at 400 kbit/s the two
 * engines' uplink was offered 600–1,000 kbit/s for the whole 20 s, against about 200 kbit/s of media
 * (25–40 retransmissions every 500 ms, 15–40 packets dropped at the bottleneck), and the loss held both
 * estimates at about 100 kbit/s, 320x180 at 15 fps, thinned again by the server: a freeze every few seconds.
 *
 * - **Budget**: the shared retransmission bucket (protocol/media/retransmitBucket.ts: its depth, the base
 *   layer's priority, no packet older than the receiver waits for) filling at `SHARE` of the send target.
 *   A retransmission that would overdraw it is not sent: the lost frame costs a key frame request instead,
 *   which is cheaper than keeping the bottleneck full.
 */

export type UplinkRetransmitResult = BucketDecision

export { BUCKET_MS, MIN_BUCKET_BYTES, RESERVE, USEFUL_MS }
/** The bucket fills at this share of the send target. */
export const SHARE = 0.2
const RTP_HEADER_BYTES = 12

/** Pure: time and the target come in. */
export class UplinkRetransmitBudget {
  private readonly bucket = new RetransmitBucket()

  /** A packet sent: its sequence number on the wire (16 bits), its RTP bytes, its temporal layer. */
  sent(seq: number, bytes: number, temporalId: number, nowMs: number): void {
    this.bucket.sent(seq, bytes, temporalId, nowMs)
  }

  /** Whether to retransmit `seq` now (and pays for it when so). */
  decide(seq: number, targetBps: number, nowMs: number): UplinkRetransmitResult {
    return this.bucket.decide(seq, SHARE * targetBps, nowMs)
  }
}

/** An RTP packet as the engine hands it to werift (the sequence number before werift's offset). */
interface SentPacket {
  header: { sequenceNumber: number }
  payload: Uint8Array
}

/**
 * One werift video sender's retransmissions: at most one per packet per 100 ms (nackPacing.ts), then the
 * budget above. `sent` must see every packet handed to the sender.
 */
export class SenderRetransmits {
  private readonly pacer = new RetransmitPacer()
  private readonly budget = new UplinkRetransmitBudget()

  constructor(
    private readonly sender: RTCRtpSender,
    private readonly deps: { now(): number; targetBps(): number },
  ) {
    interceptNacks(sender, (lost) => {
      const now = deps.now()
      const target = deps.targetBps()
      return this.pacer.allow(lost, now).filter((seq) => this.budget.decide(seq, target, now) === 'sent')
    })
  }

  sent(packet: SentPacket, temporalId = 0): void {
    // NACKs name the number on the wire: werift adds its offset (0 unless a source was replaced).
    const { seqOffset } = this.sender as unknown as { seqOffset: number }
    const seq = (packet.header.sequenceNumber + seqOffset) & 0xffff
    this.budget.sent(seq, packet.payload.length + RTP_HEADER_BYTES, temporalId, this.deps.now())
  }
}

/** The retransmissions of both video senders (camera and screen) of one PeerConnection. */
export function videoRetransmits(
  transceivers: Record<'video' | 'screen', RTCRtpTransceiver>,
  clock: { now(): number },
  targetBps: () => number,
): Record<'video' | 'screen', SenderRetransmits> {
  const deps = { now: () => clock.now(), targetBps }
  return {
    video: new SenderRetransmits(transceivers.video.sender, deps),
    screen: new SenderRetransmits(transceivers.screen.sender, deps),
  }
}
