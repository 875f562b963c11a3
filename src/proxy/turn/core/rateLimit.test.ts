import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyedRateLimiter, TokenBucket } from './rateLimit'

/** Runs take() at each time and returns the outcomes. */
const takes = (bucket: TokenBucket, times: number[], amount = 1): boolean[] =>
  times.map((t) => bucket.take(t, amount))

describe('TokenBucket', () => {
  it.each([
    ['starts full: burst 3 allows three at once', 1, 3, [0, 0, 0, 0], [true, true, true, false]],
    [
      'refills at the rate (10/s → one per 100 ms)',
      10,
      1,
      [0, 50, 99, 100, 150, 200],
      [true, false, false, true, false, true],
    ],
    [
      'never holds more than burst',
      10,
      2,
      [0, 0, 100_000, 100_000, 100_000],
      [true, true, true, true, false],
    ],
    ['fractional rates accumulate (0.5/s)', 0.5, 1, [0, 1000, 1999, 2000], [true, false, false, true]],
    ['a failed take does not consume', 1, 1, [0, 500, 999, 1000], [true, false, false, true]],
  ] as const)('%s', (_name, rate, burst, times, expected) => {
    expect(takes(new TokenBucket(rate, burst), [...times])).toEqual(expected)
  })

  it('takes an amount (e.g. bytes for a bandwidth cap)', () => {
    const bucket = new TokenBucket(1000, 1500)

    expect(bucket.take(0, 1200)).toBe(true)
    expect(bucket.take(0, 400)).toBe(false)
    expect(bucket.take(0, 300)).toBe(true)
    expect(bucket.take(100, 100)).toBe(true)
    expect(bucket.take(100, 1)).toBe(false)
  })

  it('an amount larger than burst never succeeds', () => {
    const bucket = new TokenBucket(1000, 100)

    expect(takes(bucket, [0, 1_000, 1_000_000], 101)).toEqual([false, false, false])
    expect(bucket.take(1_000_000, 100)).toBe(true)
  })

  it('rate 0 is unlimited', () => {
    const bucket = new TokenBucket(0, 0)

    for (let i = 0; i < 10_000; i++) expect(bucket.take(0, 1e9)).toBe(true)
    expect(bucket.available(0)).toBe(Infinity)
  })

  it('a clock that goes backwards refills nothing and does not rewind', () => {
    const bucket = new TokenBucket(10, 1)

    expect(takes(bucket, [1000, 500, 0, 1000, 1099, 1100])).toEqual([true, false, false, false, false, true])
  })

  it('available() reports the refilled token count', () => {
    const bucket = new TokenBucket(10, 5)
    bucket.take(0, 5)

    expect(bucket.available(0)).toBe(0)
    expect(bucket.available(250)).toBeCloseTo(2.5)
    expect(bucket.available(10_000)).toBe(5)
  })

  it.each([
    [-1, 1],
    [Number.NaN, 1],
    [Infinity, 1],
    [1, 0],
    [1, -1],
    [1, Number.NaN],
  ])('rate %s burst %s throws a RangeError', (rate, burst) => {
    expect(() => new TokenBucket(rate, burst)).toThrow(RangeError)
  })

  it('never grants more than burst + rate × elapsed (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 5 })), {
          maxLength: 300,
        }),
        (rate, burst, steps) => {
          const bucket = new TokenBucket(rate, burst)
          let now = 0
          let granted = 0
          for (const [dt, amount] of steps) {
            now += dt
            if (bucket.take(now, amount)) granted += amount
          }
          expect(granted).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-9)
        },
      ),
    )
  })
})

describe('KeyedRateLimiter', () => {
  it('keeps one bucket per key', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 2 })

    expect([limiter.take('a', 0), limiter.take('a', 0), limiter.take('a', 0)]).toEqual([true, true, false])
    expect([limiter.take('b', 0), limiter.take('b', 0), limiter.take('b', 0)]).toEqual([true, true, false])
    expect(limiter.take('a', 1000)).toBe(true)
    expect(limiter.size()).toBe(2)
  })

  it('rate 0 is unlimited and tracks nothing', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 0, burst: 0 })

    for (let i = 0; i < 1000; i++) expect(limiter.take(`k${i}`, 0)).toBe(true)
    expect(limiter.size()).toBe(0)
  })

  it('never tracks more than maxKeys', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 3 })

    for (let i = 0; i < 100; i++) limiter.take(`k${i}`, 0)

    expect(limiter.size()).toBe(3)
  })

  it('evicts the least recently used key first', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 3 })
    limiter.take('a', 0)
    limiter.take('b', 0)
    limiter.take('c', 0)
    limiter.take('a', 0) // refused, but touches 'a'

    limiter.take('d', 0) // over maxKeys: 'b' is the least recently used

    expect(limiter.take('a', 0)).toBe(false) // still remembered
    expect(limiter.take('c', 0)).toBe(false)
    expect(limiter.take('b', 0)).toBe(true) // forgotten: starts over with a full bucket
  })

  it('drops buckets that have refilled to full, so idle keys cost no memory', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 10, burst: 1 })
    limiter.take('a', 0)
    limiter.take('b', 0)
    expect(limiter.size()).toBe(2)

    limiter.take('c', 1000) // 'a' and 'b' are full again by now

    expect(limiter.size()).toBe(1)
    expect(limiter.take('a', 1000)).toBe(true)
  })

  it('keeps a bucket that is still refilling', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1 })
    limiter.take('a', 0)

    limiter.take('b', 500)

    expect(limiter.size()).toBe(2)
    expect(limiter.take('a', 500)).toBe(false)
  })

  it('a clock going backwards neither throws nor refills', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1 })

    expect([
      limiter.take('a', 1000),
      limiter.take('a', 0),
      limiter.take('a', 1000),
      limiter.take('a', 2000),
    ]).toEqual([true, false, false, true])
  })

  it.each([
    [{ ratePerSecond: -1, burst: 1 }],
    [{ ratePerSecond: 1, burst: 0 }],
    [{ ratePerSecond: 1, burst: 1, maxKeys: 0 }],
    [{ ratePerSecond: 1, burst: 1, maxKeys: 1.5 }],
  ])('%o throws a RangeError', (options) => {
    expect(() => new KeyedRateLimiter(options)).toThrow(RangeError)
  })

  it('stays within maxKeys and within each key’s budget for any sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.integer({ min: 0, max: 400 })), {
          maxLength: 300,
        }),
        (maxKeys, steps) => {
          const rate = 5
          const burst = 3
          const limiter = new KeyedRateLimiter({ ratePerSecond: rate, burst, maxKeys })
          const reference = new Map<string, TokenBucket>()
          let now = 0
          for (const [key, dt] of steps) {
            now += dt
            const got = limiter.take(key, now)
            expect(limiter.size()).toBeLessThanOrEqual(maxKeys)
            // With room for every key nothing is evicted early, so it must agree with a plain bucket per key.
            if (maxKeys >= 6) {
              if (!reference.has(key)) reference.set(key, new TokenBucket(rate, burst))
              expect(got).toBe(reference.get(key)!.take(now))
            }
          }
        },
      ),
    )
  })
})
