/**
 * How long a frame with a missing packet is worth waiting for, measured on the stream itself: the time
 * from when a packet's absence could first be seen (a later sequence number arrived: that is when the
 * receiver NACKs it) to when it arrived after all (the retransmission, or a late packet). Pure: time
 * comes in with each packet.
 *
 * Why measured here and not from RTCP's round trip: a repair is the NACK's round trip to the conference
 * server plus, when the packet was lost before it, the server's own round trip to the publisher, plus
 * the queues on both links and the server's retransmission pacing (one per packet per 100 ms); the engine's
 * RTCP round trip is its own sending stream's (every 2 s, smoothed, absent while it sends no video) and
 * knows none of the rest. In bench:network's `poor` (120 ms round trip, a 600 kbit/s link with a queue) a
 * fixed 250 ms gave up frames whose retransmission was on its way, and a lost base-layer frame then cost
 * a key frame (a freeze) instead.
 *
 * The wait is the slowest of the recent repairs (`SAMPLES`, dropping the slowest tenth as outliers) plus
 * `MARGIN_MS`, never under `minMs` (the assembler's configured wait) and never over `maxMs`: the freeze
 * rule (remoteVideoLedger.ts: no frame for 500 ms asks for a key frame) stands, so a frame held longer
 * than that is a freeze whatever comes, and waiting on only delays the frames behind it. A repair that
 * came too late to be used still counts (its packet is measured before the assembler drops it), so the
 * wait grows to what the link needs instead of never seeing the repairs it gave up on.
 *
 * A frame the chain of references hangs on (a base-layer frame, a frame without layer marks) may wait
 * longer, up to `REPAIR_WAIT_CHAIN_MAX_MS`: giving it up costs a key frame, which comes no sooner than a
 * repair (the request makes the same trip and the key frame the way back) plus the key frame's own time
 * on the link, 5–20 deltas big; on a full link that burst loses more. The freeze is there either way
 * (the freeze rule asks for that key frame at 500 ms, and a key frame that arrives first goes out at
 * once, vp8Assembler.ts), so waiting on only ends it sooner when the repair wins. In bench:network's
 * `poor` the repairs took 470–570 ms (a 300 ms queue on a 120 ms round trip) and frames were given up
 * as their retransmissions arrived.
 */

const SAMPLES = 20
const MARGIN_MS = 30
/** Holes larger than this are not tracked packet by packet (an outage, a new stream). */
const MAX_GAP = 64
/** A hole not repaired by then never will be (or too late to matter): forgotten. */
const FORGET_MS = 1000
export const REPAIR_WAIT_MAX_MS = 500
export const REPAIR_WAIT_CHAIN_MAX_MS = 1000

export class RepairWait {
  /** Extended sequence number → when its absence was seen; insertion order is time order. */
  private readonly missing = new Map<number, number>()
  private readonly repairs: number[] = []
  private highest: number | undefined

  constructor(
    private readonly minMs: number,
    private readonly maxMs = Math.max(minMs, REPAIR_WAIT_MAX_MS),
    private readonly chainMaxMs = Math.max(maxMs, REPAIR_WAIT_CHAIN_MAX_MS),
  ) {}

  /** Every packet as it arrives (`seq` extended), before anything is dropped as late. */
  onPacket(seq: number, nowMs: number): void {
    for (const [s, at] of this.missing) {
      if (nowMs - at <= FORGET_MS) break
      this.missing.delete(s)
    }
    const seenAt = this.missing.get(seq)
    if (seenAt !== undefined) {
      this.missing.delete(seq)
      this.repairs.push(nowMs - seenAt)
      if (this.repairs.length > SAMPLES) this.repairs.shift()
    }
    if (this.highest === undefined || seq > this.highest) {
      if (this.highest !== undefined && seq - this.highest <= MAX_GAP) {
        for (let s = this.highest + 1; s < seq; s += 1) this.missing.set(s, nowMs)
      }
      this.highest = seq
    }
  }

  /**
   * How long a frame may wait for a missing packet, from when its absence was seen; `chain`: the frame
   * is one the stream's chain of references hangs on (losing it costs a key frame).
   */
  waitMs(chain = false): number {
    if (this.repairs.length === 0) return this.minMs
    const sorted = [...this.repairs].sort((a, b) => a - b)
    const slowest = sorted[Math.ceil(sorted.length * 0.9) - 1] ?? 0
    return Math.min(chain ? this.chainMaxMs : this.maxMs, Math.max(this.minMs, slowest + MARGIN_MS))
  }
}
