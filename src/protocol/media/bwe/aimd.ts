import { clamp, type BandwidthUsage } from './types'

/**
 * The delay-based rate controller (draft-ietf-rmcat-gcc-02 §5.5): a state machine driven by the detector.
 * Overuse → decrease to β × acked rate; underuse → hold (the queue is draining, let it); normal → increase.
 * The increase is multiplicative (8 %/s) while the rate is far from the capacity last seen at a decrease,
 * additive (about one packet per response time) once near it, so that we approach the knee slowly instead
 * of overshooting it every time.
 */

const BETA = 0.85
const MULTIPLICATIVE_PER_S = 1.08
const MIN_ADDITIVE_BPS_PER_S = 4_000
const MAX_ACKED_RATIO = 1.5
const PACKET_BITS = 1200 * 8
const CAPACITY_SMOOTHING = 0.05

type RateState = 'hold' | 'increase' | 'decrease'

export class AimdRateControl {
  private rateBps: number
  private state: RateState = 'increase'
  private lastUpdateMs: number | null = null
  private rttMs = 200
  /** Exponential average of acked rate at decreases (kbit/s) and its variance: the link capacity seen. */
  private capacityKbps: number | null = null
  private capacityVar = 0.4
  private lastDecreaseMs = -Infinity

  constructor(
    startBps: number,
    private readonly minBps: number,
    private readonly maxBps: number,
  ) {
    this.rateBps = startBps
  }

  bitrate(): number {
    return this.rateBps
  }

  setRtt(rttMs: number): void {
    this.rttMs = rttMs
  }

  /** Jumps to a measured rate (a successful probe), and forgets a capacity estimate it now exceeds. */
  setEstimate(bps: number): void {
    this.rateBps = clamp(bps, this.minBps, this.maxBps)
    if (this.capacityKbps !== null && bps / 1000 > this.capacityKbps * 1.5) this.capacityKbps = null
  }

  /** True when the last decrease was within `windowMs` of now (the probe controller waits for calm). */
  decreasedWithin(nowMs: number, windowMs: number): boolean {
    return nowMs - this.lastDecreaseMs < windowMs
  }

  /**
   * `appLimitedFloorBps`: the sender is application-limited on a link with no loss (alr.ts); a decrease then
   * goes no lower than β × this (the start value), and its acked rate is not taken as the link's capacity.
   */
  update(usage: BandwidthUsage, ackedBps: number | null, nowMs: number, appLimitedFloorBps?: number): number {
    const dtMs = Math.min(nowMs - (this.lastUpdateMs ?? nowMs), 1000)
    this.lastUpdateMs = nowMs
    this.state = nextState(this.state, usage)
    if (this.state === 'increase') this.increase(ackedBps, dtMs)
    else if (this.state === 'decrease' && ackedBps !== null)
      this.decrease(ackedBps, nowMs, appLimitedFloorBps)
    return this.rateBps
  }

  private increase(ackedBps: number | null, dtMs: number): void {
    const near = this.nearCapacity(ackedBps)
    let next = near
      ? this.rateBps + (this.additivePerSecond() * dtMs) / 1000
      : this.rateBps * MULTIPLICATIVE_PER_S ** (dtMs / 1000)
    if (ackedBps !== null) next = Math.min(next, Math.max(this.rateBps, MAX_ACKED_RATIO * ackedBps + 10_000))
    this.rateBps = clamp(next, this.minBps, this.maxBps)
  }

  private decrease(ackedBps: number, nowMs: number, appLimitedFloorBps?: number): void {
    // One decrease per round trip: the feedback after a decrease still shows the queue built before it.
    if (nowMs - this.lastDecreaseMs < Math.max(this.rttMs, 100)) return
    let next = BETA * ackedBps
    if (next > this.rateBps && this.capacityKbps !== null) next = BETA * this.capacityKbps * 1000
    if (appLimitedFloorBps !== undefined) next = Math.max(next, BETA * appLimitedFloorBps)
    next = Math.min(next, this.rateBps)
    if (appLimitedFloorBps === undefined) this.observeCapacity(ackedBps / 1000)
    this.rateBps = clamp(next, this.minBps, this.maxBps)
    this.lastDecreaseMs = nowMs
    this.state = 'hold'
  }

  /** Within three standard deviations of the capacity seen at earlier decreases. */
  private nearCapacity(ackedBps: number | null): boolean {
    if (this.capacityKbps === null || ackedBps === null) return false
    const std = Math.sqrt(this.capacityVar * this.capacityKbps)
    const acked = ackedBps / 1000
    if (acked > this.capacityKbps + 3 * std) this.capacityKbps = null // the link got faster: forget it
    return this.capacityKbps !== null && acked >= this.capacityKbps - 3 * std
  }

  private observeCapacity(ackedKbps: number): void {
    if (this.capacityKbps === null) {
      this.capacityKbps = ackedKbps
      return
    }
    const std = Math.sqrt(this.capacityVar * this.capacityKbps)
    if (ackedKbps < this.capacityKbps - 3 * std) this.capacityKbps = ackedKbps // the link got slower
    const error = this.capacityKbps - ackedKbps
    this.capacityKbps = (1 - CAPACITY_SMOOTHING) * this.capacityKbps + CAPACITY_SMOOTHING * ackedKbps
    const norm = Math.max(this.capacityKbps, 1)
    this.capacityVar = clamp(
      (1 - CAPACITY_SMOOTHING) * this.capacityVar + (CAPACITY_SMOOTHING * error * error) / norm,
      0.4,
      2.5,
    )
  }

  /** About one packet per response time (RTT + 100 ms), as bit/s per second. */
  private additivePerSecond(): number {
    const responseS = (this.rttMs + 100) / 1000
    const bitsPerFrame = this.rateBps / 30
    const packetsPerFrame = Math.ceil(bitsPerFrame / PACKET_BITS)
    const packetBits = Math.min(bitsPerFrame / packetsPerFrame, PACKET_BITS)
    return Math.max(MIN_ADDITIVE_BPS_PER_S, packetBits / responseS)
  }
}

function nextState(state: RateState, usage: BandwidthUsage): RateState {
  if (usage === 'overuse') return 'decrease'
  if (usage === 'underuse') return 'hold'
  return state === 'hold' || state === 'decrease' ? 'increase' : state
}
