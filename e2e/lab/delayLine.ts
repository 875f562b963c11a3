/**
 * The link emulator's scheduling logic (docs/lab.md "The link emulator"): one direction of an access link as
 * a drop-tail bottleneck queue followed by a propagation delay. Pure: times are milliseconds on any
 * monotonic clock, passed in by the caller, and randomness is injected, so the table tests drive it with a
 * fake clock and a scripted random source. agents/linkEmulator.mts runs two of these (up and down) on the
 * packets of two TUN devices.
 *
 *   arrival ──► loss? ──► bottleneck queue (rateKbps, ≤ queueMs of backlog) ──► delayMs + jitter ──► out
 *               drop      drop-tail when full                                     FIFO: never reorders
 */

/** One direction of the emulated link. All optional fields default to "no impairment". */
export interface LinkDirection {
  /** One-way propagation delay added to every packet. */
  delayMs: number
  /** Extra delay drawn uniformly from [0, jitterMs] per packet; packets still leave in arrival order. */
  jitterMs?: number
  /** Random loss, percent of the packets arriving (applied before the queue: a lost packet uses no capacity). */
  lossPct?: number
  /** Bottleneck rate in kbit/s, IP bytes counted. Unset: infinite rate, no queue. */
  rateKbps?: number
  /** Drop-tail limit of the bottleneck queue, as milliseconds of backlog at `rateKbps`. */
  queueMs?: number
}

/** `up` = lan → router, `down` = router → lan. */
export interface LinkProfile {
  up: LinkDirection
  down: LinkDirection
}

export interface LinkDirectionStats {
  packetsIn: number
  bytesIn: number
  packetsOut: number
  bytesOut: number
  /** Dropped by the random loss. */
  droppedLoss: number
  /** Dropped because the bottleneck queue was full (the rate was overshot by more than `queueMs`). */
  droppedQueue: number
  /** Accepted and not yet released. */
  queued: number
  /**
   * How late packets left compared with their scheduled time, mean and worst (timer granularity, a busy
   * CPU; negative: early by the caller's slack): the emulator's own error, on top of what was configured.
   */
  lateMsMean: number
  lateMsMax: number
}

export interface LinkStats {
  up: LinkDirectionStats
  down: LinkDirectionStats
}

/** A few hundred ms of buffer, as in a typical DSL/cable modem or branch router: enough for a TCP flow to fill the link. */
export const DEFAULT_QUEUE_MS = 300

/** No impairment at all: what the emulator starts with. */
export const CLEAR_LINK: LinkProfile = { up: { delayMs: 0 }, down: { delayMs: 0 } }

/** The same impairment both ways with half of `rttMs` as each direction's delay. */
export function rttProfile(rttMs: number, both: Omit<LinkDirection, 'delayMs'> = {}): LinkProfile {
  const direction = { ...both, delayMs: rttMs / 2 }
  return { up: { ...direction }, down: { ...direction } }
}

/** Throws on a direction no link could have (negative, not finite, loss above 100 %, a zero rate). */
export function checkDirection(d: LinkDirection): void {
  const fields: [string, number | undefined][] = [
    ['delayMs', d.delayMs],
    ['jitterMs', d.jitterMs],
    ['lossPct', d.lossPct],
    ['rateKbps', d.rateKbps],
    ['queueMs', d.queueMs],
  ]
  for (const [name, value] of fields) {
    if (value === undefined && name !== 'delayMs') continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      throw new Error(`link ${name} must be a finite number ≥ 0 (got ${String(value)})`)
  }
  if ((d.lossPct ?? 0) > 100) throw new Error(`link lossPct must be ≤ 100 (got ${d.lossPct})`)
  if (d.rateKbps === 0) throw new Error('link rateKbps must be > 0 (leave it unset for no rate cap)')
}

export type Verdict = { kind: 'queued'; releaseAt: number } | { kind: 'loss' } | { kind: 'queue' }

type Resolved = Required<Omit<LinkDirection, 'rateKbps'>> & { rateKbps: number | undefined }

interface Held<P> {
  releaseAt: number
  bytes: number
  packet: P
}

/** One direction of the link. `P` is whatever the caller carries (a Buffer in the emulator). */
export class DelayLine<P> {
  private config: Resolved
  private readonly held: Held<P>[] = []
  /** Index of the first packet of `held` not yet released (a FIFO without shifting on every packet). */
  private head = 0
  /** When the bottleneck finishes serialising everything accepted so far. */
  private busyUntil = Number.NEGATIVE_INFINITY
  /** Release time of the last accepted packet: later ones never leave before it. */
  private lastRelease = Number.NEGATIVE_INFINITY
  private readonly counters: Omit<LinkDirectionStats, 'queued' | 'lateMsMean' | 'lateMsMax'> = {
    packetsIn: 0,
    bytesIn: 0,
    packetsOut: 0,
    bytesOut: 0,
    droppedLoss: 0,
    droppedQueue: 0,
  }
  private lateMsTotal = 0
  private lateMsMax = 0

  constructor(
    config: LinkDirection,
    private readonly random: () => number = Math.random,
  ) {
    this.config = DelayLine.resolve(config)
  }

  private static resolve(d: LinkDirection): Resolved {
    checkDirection(d)
    return {
      delayMs: d.delayMs,
      jitterMs: d.jitterMs ?? 0,
      lossPct: d.lossPct ?? 0,
      rateKbps: d.rateKbps,
      queueMs: d.queueMs ?? DEFAULT_QUEUE_MS,
    }
  }

  /** Takes effect for packets arriving from now on; those already accepted keep their release times. */
  configure(config: LinkDirection): void {
    this.config = DelayLine.resolve(config)
  }

  /** A packet of `bytes` (IP length) arrives at `now`: dropped, or held until the returned time. */
  offer(now: number, bytes: number, packet: P): Verdict {
    this.counters.packetsIn++
    this.counters.bytesIn += bytes
    const { delayMs, jitterMs, lossPct, rateKbps, queueMs } = this.config
    if (lossPct > 0 && this.random() * 100 < lossPct) {
      this.counters.droppedLoss++
      return { kind: 'loss' }
    }
    let leavesQueue = now
    if (rateKbps !== undefined) {
      const backlogMs = Math.max(0, this.busyUntil - now)
      // kbit/s is bits per millisecond.
      const serialiseMs = (bytes * 8) / rateKbps
      // Drop-tail: the packet must fit entirely; an empty queue always takes one packet.
      if (backlogMs > 0 && backlogMs + serialiseMs > queueMs) {
        this.counters.droppedQueue++
        return { kind: 'queue' }
      }
      leavesQueue = Math.max(now, this.busyUntil) + serialiseMs
      this.busyUntil = leavesQueue
    }
    const jitter = jitterMs > 0 ? this.random() * jitterMs : 0
    const releaseAt = Math.max(leavesQueue + delayMs + jitter, this.lastRelease)
    this.lastRelease = releaseAt
    this.held.push({ releaseAt, bytes, packet })
    return { kind: 'queued', releaseAt }
  }

  /**
   * Removes and returns, in arrival order, every packet whose release time is ≤ `now` + `slackMs` (a caller
   * whose clock wakes it at coarse instants releases packets a little early as often as late).
   */
  due(now: number, slackMs = 0): P[] {
    const out: P[] = []
    while (this.head < this.held.length) {
      const next = this.held[this.head]
      if (next === undefined || next.releaseAt > now + slackMs) break
      out.push(next.packet)
      const late = now - next.releaseAt
      this.lateMsTotal += late
      this.lateMsMax = Math.max(this.lateMsMax, late)
      this.counters.packetsOut++
      this.counters.bytesOut += next.bytes
      this.head++
    }
    if (this.head > 1024 && this.head * 2 > this.held.length) {
      this.held.splice(0, this.head)
      this.head = 0
    }
    return out
  }

  /** Release time of the next packet, undefined when nothing is held. */
  nextReleaseAt(): number | undefined {
    return this.held[this.head]?.releaseAt
  }

  stats(): LinkDirectionStats {
    const { packetsOut } = this.counters
    return {
      ...this.counters,
      queued: this.held.length - this.head,
      lateMsMean: packetsOut === 0 ? 0 : this.lateMsTotal / packetsOut,
      lateMsMax: this.lateMsMax,
    }
  }
}
