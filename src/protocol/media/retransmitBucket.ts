/**
 * The token bucket both senders of retransmissions pay from: the engine toward the conference server
 * (engine/media/uplinkRetransmits.ts) and the conference server toward each subscriber
 * (sfu/media/retransmitBudget.ts). Each decides the rate the bucket fills at; the rest is the same rule
 * (docs/media.md "Recovery"). Pure: time and the rate come in.
 *
 * - **Depth**: `BUCKET_MS` of the fill rate, at least `MIN_BUCKET_BYTES` (a lost frame's packets come in
 *   one NACK).
 * - **Priority**: packets of frames the chain of references hangs on (base layer, key frames, a stream
 *   without layers) may empty the bucket; higher layers only its part above `RESERVE`, so a repair of a
 *   base-layer frame is not refused for one of a frame nothing else references.
 * - **Useful**: the receiver waits for a repair `USEFUL_MS` at most (the engine's repairWait.ts: 1 s for
 *   a frame the chain hangs on, 500 ms for others); a packet sent longer ago is not resent.
 */

export type BucketDecision = 'sent' | 'budget' | 'stale' | 'unknown'

export const BUCKET_MS = 500
/** Two full-size packets. */
export const MIN_BUCKET_BYTES = 2400
/** Higher layers leave this share of the bucket to the base layer. */
export const RESERVE = 0.5
/** By temporal layer: how long after it was sent a packet's retransmission can still be used. */
export const USEFUL_MS: readonly number[] = [1000, 500, 500]
/** Packets remembered by sequence number: far beyond werift's 128-packet history. */
const HISTORY = 1024

export interface SentPacket {
  seq: number
  at: number
  bytes: number
  temporalId: number
}

export class RetransmitBucket {
  private readonly history: (SentPacket | undefined)[] = new Array<SentPacket | undefined>(HISTORY)
  private tokens = MIN_BUCKET_BYTES
  private refilledAt: number | undefined

  /** A packet sent: its sequence number on the wire (16 bits), its bytes, its temporal layer. */
  sent(seq: number, bytes: number, temporalId: number, nowMs: number): void {
    this.history[seq % HISTORY] = { seq, at: nowMs, bytes, temporalId }
    this.refilledAt ??= nowMs // the bucket fills from the first packet on
  }

  /** The packet sent as `seq`, while it is remembered. */
  packet(seq: number): SentPacket | undefined {
    const packet = this.history[seq % HISTORY]
    return packet?.seq === seq ? packet : undefined
  }

  /** Whether to retransmit `seq` now, the bucket filling at `rateBps` (and pays for it when so). */
  decide(seq: number, rateBps: number, nowMs: number): BucketDecision {
    const packet = this.packet(seq)
    if (!packet) return 'unknown'
    if (nowMs - packet.at > (USEFUL_MS[packet.temporalId] ?? 0)) return 'stale'
    const depth = this.refill(rateBps, nowMs)
    const floor = packet.temporalId === 0 ? 0 : depth * RESERVE
    if (this.tokens - packet.bytes < floor) return 'budget'
    this.tokens -= packet.bytes
    return 'sent'
  }

  /** Adds what the rate earned since the last call; returns the bucket's depth. */
  private refill(rateBps: number, nowMs: number): number {
    const depth = Math.max(MIN_BUCKET_BYTES, (rateBps * BUCKET_MS) / 8000)
    const elapsed = this.refilledAt === undefined ? 0 : Math.max(0, nowMs - this.refilledAt)
    this.refilledAt = nowMs
    this.tokens = Math.min(depth, this.tokens + (rateBps * elapsed) / 8000)
    return depth
  }
}
