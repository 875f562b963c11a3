import type { TwccFeedback } from './twcc'
import type { FeedbackReport, PacketResult } from './types'

/**
 * The sender's half of transport-wide feedback: one per transport (one counter for every SSRC on it). Each
 * packet gets the next transport-wide sequence number as it is sent, with its send time, size and probe
 * cluster; a parsed feedback (`parseTwcc`) turns the packets it covers into the estimator's
 * `FeedbackReport`, in send order. Each packet is reported once (the first feedback that covers it);
 * sequence numbers and the receiver's 24-bit reference time are unwrapped here, so the estimator only ever
 * sees growing numbers. Pure: send times come in, ms on the sender's clock.
 */

/** Packets older than this that no feedback covered are forgotten (the receiver gave up on them too). */
const MAX_AGE_MS = 10_000
const REFERENCE_UNITS = 1 << 24
const REFERENCE_MS = 64

interface Sent {
  sendTimeMs: number
  sizeBytes: number
  probeId?: number
}

export class SendHistory {
  private readonly sent = new Map<number, Sent>()
  /** The next sequence number to hand out, unwrapped. */
  private nextSeq: number
  private oldest: number
  /** The receiver's reference time, unwrapped (64 ms units); null before the first feedback. */
  private reference: number | null = null

  constructor(firstSequence = 0) {
    this.nextSeq = firstSequence & 0xffff
    this.oldest = this.nextSeq
  }

  /** Records a packet sent now and returns the 16-bit transport-wide sequence number to write into it. */
  add(sendTimeMs: number, sizeBytes: number, probeId?: number): number {
    const seq = this.nextSeq++
    this.sent.set(seq, probeId === undefined ? { sendTimeMs, sizeBytes } : { sendTimeMs, sizeBytes, probeId })
    this.forget(sendTimeMs)
    return seq & 0xffff
  }

  /** Packets sent and not covered by any feedback yet. */
  get outstanding(): number {
    return this.sent.size
  }

  /** The packets of `feedback` we know of, as the estimator wants them; unknown or repeated ones are skipped. */
  onFeedback(feedback: TwccFeedback): FeedbackReport {
    const referenceMs = this.unwrapReference(feedback.referenceTime) * REFERENCE_MS
    const base = this.unwrapSequence(feedback.baseSequence)
    const packets: PacketResult[] = []
    feedback.packets.forEach((status, i) => {
      const seq = base + i
      const sent = this.sent.get(seq)
      if (sent === undefined) return
      this.sent.delete(seq)
      // "Received without a delta" has no time to learn from: the delay part skips it, loss does not count it.
      if (status.received && status.arrivalUs === undefined) return
      const arrivalTimeMs = status.received ? referenceMs + status.arrivalUs! / 1000 : null
      packets.push({ ...sent, arrivalTimeMs })
    })
    return { packets }
  }

  private unwrapSequence(raw: number): number {
    const last = this.nextSeq - 1
    return last + (((raw - (last & 0xffff) + 0x8000) & 0xffff) - 0x8000)
  }

  private unwrapReference(raw: number): number {
    if (this.reference === null) {
      this.reference = raw
      return raw
    }
    const half = REFERENCE_UNITS / 2
    const step = mod(raw - this.reference + half, REFERENCE_UNITS) - half
    this.reference += step
    return this.reference
  }

  private forget(nowMs: number): void {
    while (this.oldest < this.nextSeq) {
      const entry = this.sent.get(this.oldest)
      if (entry !== undefined && nowMs - entry.sendTimeMs < MAX_AGE_MS) return
      this.sent.delete(this.oldest)
      this.oldest++
    }
  }
}

function mod(value: number, n: number): number {
  return ((value % n) + n) % n
}
