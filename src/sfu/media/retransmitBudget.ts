import {
  BUCKET_MS,
  MIN_BUCKET_BYTES,
  RESERVE,
  RetransmitBucket,
  USEFUL_MS,
  type BucketDecision,
} from '../../protocol/media/retransmitBucket'

/**
 * What the conference server retransmits to one subscriber of a layered publisher (docs/media.md
 * "Recovery", step 1): a retransmission shares the subscriber's link with the video it repairs, so it is
 * paid for from that link's budget, and only sent while it can still be used. Pure: time comes in. The
 * bucket is the one the engine pays its own retransmissions from (protocol/media/retransmitBucket.ts); what
 * is the server's own is the rate it fills at and the layer rule.
 *
 * - **Budget**: a token bucket beside the forwarded layer's rate. It fills at what the downlink estimate
 *   leaves above that rate, at least `MIN_SHARE` of the estimate (a link that carries only the base
 *   layer still gets a few repairs: without them each loss is a freeze until the next key frame) and at
 *   most `MAX_SHARE` of the forwarded rate (also before an estimate exists: the server does not know the
 *   link yet). It holds `BUCKET_MS` of that rate, at least `MIN_BUCKET_BYTES` (a lost frame's packets
 *   come in one NACK). A retransmission that would overdraw it is dropped: sent anyway it would fill the
 *   bottleneck's queue, lose packets of the next frames, whose NACKs would cost more retransmissions.
 * - **Priority**: frames the chain of references hangs on (base layer, key frames) may empty the bucket;
 *   higher layers only the half above `RESERVE`, so a repair of a base-layer frame is not refused for one
 *   of a frame nothing else references.
 * - **Useful**: the subscriber waits for a repair up to `USEFUL_MS` after it saw the packet missing
 *   (the engine's repairWait.ts: 1 s for a frame the chain hangs on, 500 ms for others); it saw that
 *   about when the next packet arrived, a one-way trip after it was sent, and the retransmission takes
 *   the same trip: so a packet sent longer ago than that wait (by the server's clock, the round trip
 *   cancels) arrives too late to be used, and is not sent.
 * - **Layer**: a packet of a temporal layer above the one forwarded now belongs to a frame nothing the
 *   subscriber still gets references (the forwarder stepped down since): not retransmitted.
 */

export type RetransmitResult = BucketDecision | 'layer'

export { BUCKET_MS, MIN_BUCKET_BYTES, RESERVE, USEFUL_MS }
export const MIN_SHARE = 0.1
export const MAX_SHARE = 0.5

export interface LinkBudget {
  /** The subscriber's downlink estimate, bit/s (Infinity while none). */
  estimateBps: number
  /** The rate of the layers forwarded to it now, bit/s. */
  mediaBps: number
  /** The highest temporal layer forwarded now. */
  layer: number
}

export class RetransmitBudget {
  private readonly bucket = new RetransmitBucket()

  /** A packet forwarded: its sequence number as forwarded (16 bits), its bytes on the link, its layer. */
  sent(seq: number, bytes: number, temporalId: number, nowMs: number): void {
    this.bucket.sent(seq, bytes, temporalId, nowMs)
  }

  /** The bucket's fill rate, bit/s. */
  static rateBps({ estimateBps, mediaBps }: LinkBudget): number {
    const most = MAX_SHARE * mediaBps
    if (!Number.isFinite(estimateBps)) return most
    return Math.max(MIN_SHARE * estimateBps, Math.min(estimateBps - mediaBps, most))
  }

  /** Whether to retransmit the forwarded packet `seq` now (and pays for it when so). */
  decide(seq: number, link: LinkBudget, nowMs: number): RetransmitResult {
    const packet = this.bucket.packet(seq)
    if (!packet) return 'unknown'
    if (packet.temporalId > link.layer) return 'layer'
    return this.bucket.decide(seq, RetransmitBudget.rateBps(link), nowMs)
  }
}
