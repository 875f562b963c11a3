import { describe, expect, it } from 'vitest'
import {
  BUCKET_MS,
  MAX_SHARE,
  MIN_BUCKET_BYTES,
  MIN_SHARE,
  RetransmitBudget,
  USEFUL_MS,
  type LinkBudget,
} from './retransmitBudget'

const PACKET = 1200

/** `count` packets of `layer`, `PACKET` bytes, numbered from `first`, all sent at `atMs`. */
function sendRun(budget: RetransmitBudget, first: number, count: number, layer: number, atMs: number): void {
  for (let i = 0; i < count; i++) budget.sent((first + i) & 0xffff, PACKET, layer, atMs)
}

/** Asks for every packet of [first, first + count) at `nowMs`; the bytes it may retransmit. */
function askAll(budget: RetransmitBudget, first: number, count: number, link: LinkBudget, nowMs: number) {
  let bytes = 0
  for (let i = 0; i < count; i++) {
    if (budget.decide((first + i) & 0xffff, link, nowMs) === 'sent') bytes += PACKET
  }
  return bytes
}

describe('RetransmitBudget rate', () => {
  it.each([
    // estimate, forwarded rate, expected fill rate: the headroom, within [10 % of the estimate, 50 % of the rate]
    { estimateBps: 300_000, mediaBps: 240_000, expected: 60_000 },
    { estimateBps: 300_000, mediaBps: 290_000, expected: MIN_SHARE * 300_000 },
    { estimateBps: 200_000, mediaBps: 220_000, expected: MIN_SHARE * 200_000 }, // not even the base layer fits
    { estimateBps: 2_000_000, mediaBps: 400_000, expected: MAX_SHARE * 400_000 },
    { estimateBps: Number.POSITIVE_INFINITY, mediaBps: 400_000, expected: MAX_SHARE * 400_000 },
  ])('estimate $estimateBps, forwarded $mediaBps: $expected bit/s', ({ estimateBps, mediaBps, expected }) => {
    expect(RetransmitBudget.rateBps({ estimateBps, mediaBps, layer: 2 })).toBeCloseTo(expected, 6)
  })
})

describe('RetransmitBudget', () => {
  const link: LinkBudget = { estimateBps: 300_000, mediaBps: 240_000, layer: 2 }
  const rate = RetransmitBudget.rateBps(link)
  const depth = Math.max(MIN_BUCKET_BYTES, (rate * BUCKET_MS) / 8000)

  it('retransmits no more than the budget over a lossy stretch, whatever is NACKed', () => {
    const budget = new RetransmitBudget()
    let asked = 0
    let sent = 0
    let lastMs = 0
    // 2 s of base-layer packets, 25 a second, each NACKed 120 ms after it was sent.
    for (let t = 0; t < 2000; t += 40) {
      sendRun(budget, t / 40, 1, 0, t)
      if (t >= 120) {
        asked += PACKET
        sent += askAll(budget, (t - 120) / 40, 1, link, t)
        lastMs = t
      }
    }
    const earned = (rate * lastMs) / 8000
    expect(asked).toBeGreaterThan(2 * earned)
    // What the rate earned since the first packet, plus the bucket it started with.
    expect(sent).toBeLessThanOrEqual(earned + MIN_BUCKET_BYTES)
    expect(sent).toBeGreaterThanOrEqual(earned - PACKET)
  })

  it('leaves the bucket’s lower half to the base layer', () => {
    const budget = new RetransmitBudget()
    // The bucket fills over a second, then a burst of NACKs for both layers at once.
    sendRun(budget, 0, 40, 0, 0)
    sendRun(budget, 100, 40, 1, 900)
    const higher = askAll(budget, 100, 40, link, 1000)
    const base = askAll(budget, 0, 40, link, 1000)
    expect(higher).toBeGreaterThan(0)
    expect(higher).toBeLessThanOrEqual(depth / 2)
    expect(base).toBeGreaterThan(0)
    expect(higher + base).toBeLessThanOrEqual(depth)
    expect(budget.decide(100 + 39, link, 1000)).toBe('budget')
  })

  it('does not retransmit what would come too late to be used', () => {
    const budget = new RetransmitBudget()
    budget.sent(1, PACKET, 0, 0)
    budget.sent(2, PACKET, 2, 0)
    budget.sent(3, PACKET, 2, 0)
    expect(budget.decide(3, link, USEFUL_MS[2]!)).toBe('sent')
    expect(budget.decide(2, link, USEFUL_MS[2]! + 1)).toBe('stale')
    expect(budget.decide(1, link, USEFUL_MS[2]! + 1)).toBe('sent') // a base-layer frame waits longer
    budget.sent(4, PACKET, 0, 0)
    expect(budget.decide(4, link, USEFUL_MS[0]! + 1)).toBe('stale')
  })

  it('does not retransmit a layer the subscriber no longer gets, nor what it never sent', () => {
    const budget = new RetransmitBudget()
    budget.sent(10, PACKET, 2, 0)
    budget.sent(11, PACKET, 0, 0)
    const base = { ...link, layer: 0 }
    expect(budget.decide(10, base, 50)).toBe('layer')
    expect(budget.decide(11, base, 50)).toBe('sent')
    expect(budget.decide(12, base, 50)).toBe('unknown')
    // The history is a ring: the number 1024 later replaces the entry.
    budget.sent(11 + 1024, PACKET, 0, 60)
    expect(budget.decide(11, base, 70)).toBe('unknown')
  })

  it('keeps numbers across the 16-bit wrap', () => {
    const budget = new RetransmitBudget()
    budget.sent(0xffff, PACKET, 0, 0)
    budget.sent(0, PACKET, 0, 0)
    expect(budget.decide(0xffff, link, 10)).toBe('sent')
    expect(budget.decide(0, link, 10)).toBe('sent')
  })
})
