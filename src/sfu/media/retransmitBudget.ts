/**
 * What the conference server retransmits to one subscriber of a layered publisher (docs/media.md
 * "Recovery", step 1): a retransmission shares the subscriber's link with the video it repairs, so it is
 * paid for from that link's budget, and only sent while it can still be used. Pure: time comes in.
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

export type RetransmitResult = 'sent' | 'budget' | 'stale' | 'layer' | 'unknown'

export const MIN_SHARE = 0.1
export const MAX_SHARE = 0.5
export const BUCKET_MS = 500
/** Two full-size packets. */
export const MIN_BUCKET_BYTES = 2400
/** Higher layers leave this share of the bucket to the base layer. */
export const RESERVE = 0.5
/** By temporal layer: how long after it was sent a packet's retransmission can still be used. */
export const USEFUL_MS: readonly number[] = [1000, 500, 500]
/** Packets remembered (by forwarded sequence number): far beyond werift's 128-packet history. */
const HISTORY = 1024

interface Sent {
  seq: number
  at: number
  bytes: number
  temporalId: number
}

export interface LinkBudget {
  /** The subscriber's downlink estimate, bit/s (Infinity while none). */
  estimateBps: number
  /** The rate of the layers forwarded to it now, bit/s. */
  mediaBps: number
  /** The highest temporal layer forwarded now. */
  layer: number
}

export class RetransmitBudget {
  private readonly history: (Sent | undefined)[] = new Array<Sent | undefined>(HISTORY)
  private tokens = MIN_BUCKET_BYTES
  private refilledAt: number | undefined

  /** A packet forwarded: its sequence number as forwarded (16 bits), its bytes on the link, its layer. */
  sent(seq: number, bytes: number, temporalId: number, nowMs: number): void {
    this.history[seq % HISTORY] = { seq, at: nowMs, bytes, temporalId }
    this.refilledAt ??= nowMs // the bucket fills from the first packet on
  }

  /** The bucket's fill rate, bit/s. */
  static rateBps({ estimateBps, mediaBps }: LinkBudget): number {
    const most = MAX_SHARE * mediaBps
    if (!Number.isFinite(estimateBps)) return most
    return Math.max(MIN_SHARE * estimateBps, Math.min(estimateBps - mediaBps, most))
  }

  /** Whether to retransmit the forwarded packet `seq` now (and pays for it when so). */
  decide(seq: number, link: LinkBudget, nowMs: number): RetransmitResult {
    const packet = this.history[seq % HISTORY]
    if (packet?.seq !== seq) return 'unknown'
    if (packet.temporalId > link.layer) return 'layer'
    if (nowMs - packet.at > (USEFUL_MS[packet.temporalId] ?? 0)) return 'stale'
    const depth = this.refill(link, nowMs)
    const floor = packet.temporalId === 0 ? 0 : depth * RESERVE
    if (this.tokens - packet.bytes < floor) return 'budget'
    this.tokens -= packet.bytes
    return 'sent'
  }

  /** Adds what the rate earned since the last call; returns the bucket's depth. */
  private refill(link: LinkBudget, nowMs: number): number {
    const rate = RetransmitBudget.rateBps(link)
    const depth = Math.max(MIN_BUCKET_BYTES, (rate * BUCKET_MS) / 8000)
    const elapsed = this.refilledAt === undefined ? 0 : Math.max(0, nowMs - this.refilledAt)
    this.refilledAt = nowMs
    this.tokens = Math.min(depth, this.tokens + (rate * elapsed) / 8000)
    return depth
  }
}
