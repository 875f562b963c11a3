/**
 * Token buckets with injected time (no timers): tokens refill continuously at `ratePerSecond` up to
 * `burst`; a bucket starts full. A rate of 0 means unlimited.
 */

function checkRate(ratePerSecond: number, burst: number): void {
  if (!Number.isFinite(ratePerSecond) || ratePerSecond < 0) {
    throw new RangeError(`ratePerSecond must be a finite number ≥ 0, got ${ratePerSecond}`)
  }
  if (ratePerSecond > 0 && (!Number.isFinite(burst) || burst <= 0)) {
    throw new RangeError(`burst must be a finite number > 0 when a rate is set, got ${burst}`)
  }
}

export class TokenBucket {
  private tokens: number
  private last: number | undefined

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    checkRate(ratePerSecond, burst)
    this.tokens = burst
  }

  /** Takes `amount` tokens if there are that many; a request larger than `burst` can never succeed. */
  take(nowMs: number, amount = 1): boolean {
    if (this.ratePerSecond === 0) return true
    this.refill(nowMs)
    if (this.tokens < amount) return false
    this.tokens -= amount
    return true
  }

  /** Tokens available at `nowMs` (refills first). */
  available(nowMs: number): number {
    if (this.ratePerSecond === 0) return Infinity
    this.refill(nowMs)
    return this.tokens
  }

  private refill(nowMs: number): void {
    // A clock that goes backwards refills nothing, and does not move `last` back either.
    if (this.last !== undefined && nowMs > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.ratePerSecond) / 1000)
    }
    if (this.last === undefined || nowMs > this.last) this.last = nowMs
  }
}

export interface KeyedRateLimiterOptions {
  ratePerSecond: number
  burst: number
  /** Upper bound on tracked keys; past it the least recently used key is forgotten. */
  maxKeys?: number
}

interface Entry {
  tokens: number
  last: number
}

/** How many stale entries one take() may sweep, so the cost per call stays O(1). */
const SWEEP_PER_TAKE = 2

/**
 * One token bucket per key (e.g. per client IP for unauthenticated requests, docs/proxy.md §6) in bounded
 * memory. Entries live in a Map kept in least-recently-used order (touching a key moves it to the end).
 * A bucket that has refilled to full is the same as no bucket, so such entries at the old end are dropped
 * as we go; when the map is still over `maxKeys`, the least recently used entry is evicted regardless —
 * that key then starts over with a full bucket, which is the price of bounded memory under a flood of
 * distinct keys.
 */
export class KeyedRateLimiter {
  private readonly entries = new Map<string, Entry>()
  private readonly ratePerSecond: number
  private readonly burst: number
  private readonly maxKeys: number

  constructor({ ratePerSecond, burst, maxKeys = 10_000 }: KeyedRateLimiterOptions) {
    checkRate(ratePerSecond, burst)
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError(`maxKeys must be an integer ≥ 1, got ${maxKeys}`)
    this.ratePerSecond = ratePerSecond
    this.burst = burst
    this.maxKeys = maxKeys
  }

  take(key: string, nowMs: number, amount = 1): boolean {
    if (this.ratePerSecond === 0) return true
    let entry = this.entries.get(key)
    if (entry) {
      this.entries.delete(key) // re-inserted below: moves it to the most recently used end
      if (nowMs > entry.last) {
        entry.tokens = Math.min(this.burst, entry.tokens + ((nowMs - entry.last) * this.ratePerSecond) / 1000)
        entry.last = nowMs
      }
    } else {
      entry = { tokens: this.burst, last: nowMs }
    }
    this.sweep(nowMs)
    const ok = entry.tokens >= amount
    if (ok) entry.tokens -= amount
    // A full bucket after taking (amount 0, or a rate that outruns every call) need not be remembered.
    if (entry.tokens < this.burst) {
      this.entries.set(key, entry)
      if (this.entries.size > this.maxKeys) this.evictOldest()
    }
    return ok
  }

  /** Keys currently tracked. */
  size(): number {
    return this.entries.size
  }

  /** Drops up to SWEEP_PER_TAKE least recently used entries whose bucket has refilled to full. */
  private sweep(nowMs: number): void {
    for (let i = 0; i < SWEEP_PER_TAKE; i++) {
      const oldest = this.entries.entries().next()
      if (oldest.done) return
      const [key, entry] = oldest.value
      const refilled = entry.tokens + (Math.max(0, nowMs - entry.last) * this.ratePerSecond) / 1000
      if (refilled < this.burst) return
      this.entries.delete(key)
    }
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next()
    if (!oldest.done) this.entries.delete(oldest.value)
  }
}
