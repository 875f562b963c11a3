import type { RTCRtpSender, RTCRtpTransceiver } from 'werift'
import { interceptNacks, RetransmitPacer } from '../../protocol/media/nackPacing'

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
 * - **Budget**: a token bucket that fills at `SHARE` of the send target and holds `BUCKET_MS` of that rate,
 *   at least `MIN_BUCKET_BYTES` (a lost frame's packets come in one NACK). A retransmission that would
 *   overdraw it is not sent: the lost frame costs a key frame request instead, which is cheaper than
 *   keeping the bottleneck full.
 * - **Priority**: packets of frames the chain of references hangs on (base layer, key frames, a stream
 *   without layers) may empty the bucket; higher layers only its half above `RESERVE`.
 * - **Useful**: the receiver waits for a repair `USEFUL_MS` at most (the engine's repairWait.ts, the
 *   server's nackScheduler.ts: 1 s), 500 ms for a frame nothing references: older packets are not resent.
 */

export type UplinkRetransmitResult = 'sent' | 'budget' | 'stale' | 'unknown'

export const SHARE = 0.2
export const BUCKET_MS = 500
/** Two full-size packets. */
export const MIN_BUCKET_BYTES = 2400
export const RESERVE = 0.5
/** By temporal layer: how long after it was sent a packet's retransmission can still be used. */
export const USEFUL_MS: readonly number[] = [1000, 500, 500]
/** Packets remembered by sequence number: beyond werift's own 128-packet history. */
const HISTORY = 1024
const RTP_HEADER_BYTES = 12

interface Sent {
  seq: number
  at: number
  bytes: number
  temporalId: number
}

/** Pure: time and the target come in. */
export class UplinkRetransmitBudget {
  private readonly history: (Sent | undefined)[] = new Array<Sent | undefined>(HISTORY)
  private tokens = MIN_BUCKET_BYTES
  private refilledAt: number | undefined

  /** A packet sent: its sequence number on the wire (16 bits), its RTP bytes, its temporal layer. */
  sent(seq: number, bytes: number, temporalId: number, nowMs: number): void {
    this.history[seq % HISTORY] = { seq, at: nowMs, bytes, temporalId }
    this.refilledAt ??= nowMs
  }

  /** Whether to retransmit `seq` now (and pays for it when so). */
  decide(seq: number, targetBps: number, nowMs: number): UplinkRetransmitResult {
    const packet = this.history[seq % HISTORY]
    if (packet?.seq !== seq) return 'unknown'
    if (nowMs - packet.at > (USEFUL_MS[packet.temporalId] ?? 0)) return 'stale'
    const depth = this.refill(targetBps, nowMs)
    const floor = packet.temporalId === 0 ? 0 : depth * RESERVE
    if (this.tokens - packet.bytes < floor) return 'budget'
    this.tokens -= packet.bytes
    return 'sent'
  }

  private refill(targetBps: number, nowMs: number): number {
    const rate = SHARE * targetBps
    const depth = Math.max(MIN_BUCKET_BYTES, (rate * BUCKET_MS) / 8000)
    const elapsed = this.refilledAt === undefined ? 0 : Math.max(0, nowMs - this.refilledAt)
    this.refilledAt = nowMs
    this.tokens = Math.min(depth, this.tokens + (rate * elapsed) / 8000)
    return depth
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
