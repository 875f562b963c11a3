import { buildTwcc, deltaFits, referenceTimeFor } from './twcc'

/**
 * The receiver's half of transport-wide feedback: one per transport (all SSRCs together, since the
 * sequence numbers are transport-wide), it records each packet's arrival and, when asked (every
 * `TWCC_FEEDBACK_INTERVAL_MS`), writes the feedback for everything from the first unreported sequence
 * number to the highest one seen: gaps below it are reported lost, once. A packet that arrives after its
 * number was reported is not reported again (the sender has counted it lost; a late packet is late).
 * Pure: arrival times come in, µs on the receiver's clock.
 */

export const TWCC_FEEDBACK_INTERVAL_MS = 50
/** Statuses per feedback packet: with ~1.3 bytes each that keeps a packet well under 1200 bytes. */
const MAX_STATUSES = 600
/** A jump further than this from what we have seen is a new stream start, not a gap of lost packets. */
const MAX_GAP = 1000

export class TwccRecorder {
  private readonly arrivals = new Map<number, number>()
  /** The next unreported sequence number, unwrapped; null before the first packet. */
  private next: number | null = null
  private highest = -1
  private feedbackCount = 0

  constructor(
    private readonly senderSsrc: number,
    private readonly mediaSsrc: () => number,
  ) {}

  /** One received packet's transport-wide sequence number (16 bits) and arrival time (µs). */
  onPacket(sequence: number, arrivalUs: number): void {
    const seq = this.unwrap(sequence & 0xffff)
    if (this.next === null || seq - this.highest > MAX_GAP) {
      this.arrivals.clear()
      this.next = seq
      this.highest = seq
    }
    if (seq < this.next) return
    this.highest = Math.max(this.highest, seq)
    if (!this.arrivals.has(seq)) this.arrivals.set(seq, arrivalUs)
  }

  /** The feedback packets for everything not reported yet (none when nothing new arrived). */
  take(): Uint8Array[] {
    const packets: Uint8Array[] = []
    while (this.next !== null && this.next <= this.highest) packets.push(this.takeOne(this.next))
    return packets
  }

  private takeOne(base: number): Uint8Array {
    const arrivalsUs: (number | null)[] = []
    let firstUs: number | null = null
    let lastUs = 0
    let seq = base
    for (; seq <= this.highest && arrivalsUs.length < MAX_STATUSES; seq++) {
      const at = this.arrivals.get(seq) ?? null
      if (at !== null) {
        // The first arrival sets the reference time; a later one too far from the previous starts anew.
        if (firstUs === null) firstUs = at
        else if (!deltaFits(lastUs, at)) break
        lastUs = at
        this.arrivals.delete(seq)
      }
      arrivalsUs.push(at)
    }
    this.next = seq
    const referenceTime = referenceTimeFor(firstUs ?? 0)
    return buildTwcc({
      senderSsrc: this.senderSsrc,
      mediaSsrc: this.mediaSsrc(),
      baseSequence: base & 0xffff,
      feedbackCount: this.feedbackCount++ & 0xff,
      referenceTime,
      // The reference time counts from a wrapped origin: arrivals move with it.
      arrivalsUs: arrivalsUs.map((at) => (at === null ? null : at - rebase(firstUs ?? 0, referenceTime))),
    })
  }

  /** 16 bits → a number that keeps counting past 65535, relative to the highest seen. */
  private unwrap(raw: number): number {
    if (this.next === null) return raw
    return this.highest + (((raw - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000)
  }
}

/** How far `arrivalUs`'s clock is ahead of the (24-bit wrapped) reference time's origin, µs. */
function rebase(arrivalUs: number, referenceTime: number): number {
  return Math.floor(arrivalUs / 64_000) * 64_000 - referenceTime * 64_000
}
