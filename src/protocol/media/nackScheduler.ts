/**
 * When a receiver asks for a missing RTP packet (generic NACK, RFC 4585), in the style of libwebrtc's
 * NackRequester: at once when a later packet shows it missing, then again every
 * max(`MIN_INTERVAL_MS`, round trip x `RTT_FACTOR`) while a retransmission could still arrive in time to be
 * used (`MAX_AGE_MS` since it was first seen missing, at most `MAX_REQUESTS` times), and never for a packet
 * that arrived. Pure: time comes in with each call.
 *
 * Why not werift's receiver (its NackHandler): it asks for a missing packet every 5 ms, eleven times, and
 * then never again. Our senders answer one of those (nackPacing.ts: once per packet per 100 ms), so a lost
 * retransmission (3 % each way in bench:network's `poor`) was never repaired and cost its frame, often a
 * key frame. Its list also sorted sequence numbers as strings and broke at the 16-bit wrap.
 *
 * The round trip is the repair's own (Karn's rule): from the only request of a packet to its arrival, so
 * it includes the queues and the sender's pacing that a retransmission really waits behind; until one is
 * measured, `INITIAL_RTT_MS`. The floor is the senders' retransmission interval: a request sooner than
 * that is dropped by them anyway.
 *
 * Floods: at most `MAX_TRACKED` numbers are tracked (the oldest go first: the least likely to arrive in
 * time), and a jump of more than `MAX_JUMP` forward (a sender restart, an outage) starts over instead of
 * asking for thousands of packets.
 */

export const MIN_INTERVAL_MS = 100
export const RTT_FACTOR = 1.25
export const INITIAL_RTT_MS = 100
/** The longest an engine waits for a repair (rtp/repairWait.ts, for a frame the chain hangs on). */
export const MAX_AGE_MS = 1000
export const MAX_REQUESTS = 10
/** Keeps one NACK within an MTU: each number costs at most one 4-byte PID+BLP item. */
export const MAX_TRACKED = 256
export const MAX_JUMP = 1000

interface Missing {
  /** When a later packet showed it missing. */
  since: number
  requests: number
  lastRequest: number
}

export class NackScheduler {
  /** Missing packets by extended (unwrapped) sequence number, in ascending order. */
  private readonly missing = new Map<number, Missing>()
  /** The newest extended sequence number received. */
  private newest: number | undefined
  private rtt: number | undefined

  /** The round trip the interval follows (Karn-sampled repairs, smoothed). */
  get rttMs(): number {
    return this.rtt ?? INITIAL_RTT_MS
  }

  get intervalMs(): number {
    return Math.max(MIN_INTERVAL_MS, this.rttMs * RTT_FACTOR)
  }

  /** How many sequence numbers are being asked for. */
  get tracked(): number {
    return this.missing.size
  }

  /** A packet arrived; returns whether it revealed new missing packets (to ask for at once). */
  received(seq: number, nowMs: number): boolean {
    if (this.newest === undefined) {
      this.newest = seq + 0x10000 // room below for late packets of the first cycle
      return false
    }
    const delta = ((seq - (this.newest & 0xffff) + 0x8000) & 0xffff) - 0x8000
    const ext = this.newest + delta
    if (delta <= 0) {
      this.repaired(ext, nowMs)
      return false
    }
    if (delta > MAX_JUMP) {
      this.missing.clear()
      this.newest = ext
      return false
    }
    for (let gap = this.newest + 1; gap < ext; gap++) {
      this.missing.set(gap, { since: nowMs, requests: 0, lastRequest: nowMs })
    }
    this.newest = ext
    for (const old of this.missing.keys()) {
      if (this.missing.size <= MAX_TRACKED) break
      this.missing.delete(old)
    }
    return delta > 1
  }

  /**
   * The sequence numbers (16-bit, oldest first) to ask for now; counts them as asked. Packets past their
   * age or their requests are given up here.
   */
  due(nowMs: number): number[] {
    const out: number[] = []
    const interval = this.intervalMs
    for (const [ext, entry] of this.missing) {
      if (nowMs - entry.since > MAX_AGE_MS || entry.requests >= MAX_REQUESTS) {
        this.missing.delete(ext)
      } else if (entry.requests === 0 || nowMs - entry.lastRequest >= interval) {
        entry.requests++
        entry.lastRequest = nowMs
        out.push(ext & 0xffff)
      }
    }
    return out
  }

  /** When `due` next has something to do (a request or a give-up), or undefined when nothing is missing. */
  nextDueMs(): number | undefined {
    let next: number | undefined
    const interval = this.intervalMs
    for (const entry of this.missing.values()) {
      const at =
        entry.requests === 0
          ? entry.since
          : Math.min(entry.lastRequest + interval, entry.since + MAX_AGE_MS + 1)
      next = next === undefined ? at : Math.min(next, at)
    }
    return next
  }

  /** Stops asking for everything (the stream's source changed). */
  reset(): void {
    this.missing.clear()
    this.newest = undefined
  }

  private repaired(ext: number, nowMs: number): void {
    const entry = this.missing.get(ext)
    if (!entry) return
    this.missing.delete(ext)
    // Karn: with more than one request out, which one this answers is unknown.
    if (entry.requests !== 1) return
    const sample = nowMs - entry.lastRequest
    this.rtt = this.rtt === undefined ? sample : this.rtt * 0.875 + sample * 0.125
  }
}

/**
 * RFC 4585 generic NACK items for `seqs` (16-bit, oldest first): a PID and a bitmask of the 16 numbers
 * after it. An item never reaches across the 16-bit wrap: werift's sender (the engine's, the conference
 * server's) reads PID + bit + 1 without it, and would look for packet 65,536.
 */
export function nackItems(seqs: readonly number[]): { pid: number; blp: number }[] {
  const items: { pid: number; blp: number }[] = []
  for (const seq of seqs) {
    const last = items[items.length - 1]
    const diff = last ? seq - last.pid - 1 : -1
    if (last && diff >= 0 && diff < 16) last.blp |= 1 << diff
    else items.push({ pid: seq, blp: 0 })
  }
  return items
}
