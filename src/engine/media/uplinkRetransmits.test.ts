import { describe, expect, it } from 'vitest'
import { BUCKET_MS, MIN_BUCKET_BYTES, SHARE, UplinkRetransmitBudget, USEFUL_MS } from './uplinkRetransmits'

const PACKET = 1000

function sendRun(budget: UplinkRetransmitBudget, first: number, count: number, layer: number, atMs: number) {
  for (let i = 0; i < count; i++) budget.sent((first + i) & 0xffff, PACKET, layer, atMs)
}

/** Asks for every packet of [first, first + count) at `nowMs`; the bytes it may retransmit. */
function askAll(
  budget: UplinkRetransmitBudget,
  first: number,
  count: number,
  targetBps: number,
  nowMs: number,
) {
  let bytes = 0
  for (let i = 0; i < count; i++) {
    if (budget.decide((first + i) & 0xffff, targetBps, nowMs) === 'sent') bytes += PACKET
  }
  return bytes
}

describe('UplinkRetransmitBudget', () => {
  it('retransmits no more than its share of the target over a lossy stretch, whatever is NACKed', () => {
    // bench:network `step` at 400 kbit/s: a 110 kbit/s target, a third of its packets NACKed, each again
    // a round trip later (the answer was lost in the same queue).
    const target = 110_000
    const budget = new UplinkRetransmitBudget()
    let asked = 0
    let sent = 0
    let lastMs = 0
    for (let t = 0; t < 5000; t += 40) {
      sendRun(budget, t / 40, 1, 0, t)
      if (t >= 120 && (t / 40) % 3 === 0) {
        for (const back of [120, 360]) {
          asked += PACKET
          sent += askAll(budget, (t - back) / 40, 1, target, t)
        }
        lastMs = t
      }
    }
    const earned = (SHARE * target * lastMs) / 8000
    expect(asked).toBeGreaterThan(3 * earned)
    expect(sent).toBeLessThanOrEqual(earned + MIN_BUCKET_BYTES)
    expect(sent).toBeGreaterThanOrEqual(earned - PACKET)
  })

  it('repairs a lost key frame’s packets at once on a link with room (the bucket holds half a second)', () => {
    const target = 1_000_000
    const depth = (SHARE * target * BUCKET_MS) / 8000
    const budget = new UplinkRetransmitBudget()
    sendRun(budget, 0, 20, 0, 0)
    // A second later the bucket is full: 12.5 kB, so 12 of 20 lost packets at once, then 2 more per 40 ms.
    expect(askAll(budget, 0, 20, target, 990)).toBe(Math.floor(depth / PACKET) * PACKET)
  })

  it('leaves the bucket’s lower half to the base layer', () => {
    const target = 300_000
    const depth = Math.max(MIN_BUCKET_BYTES, (SHARE * target * BUCKET_MS) / 8000)
    const budget = new UplinkRetransmitBudget()
    sendRun(budget, 0, 20, 0, 0)
    sendRun(budget, 100, 20, 2, 900)
    const higher = askAll(budget, 100, 20, target, 1000)
    const base = askAll(budget, 0, 20, target, 1000)
    expect(higher).toBeGreaterThan(0)
    expect(higher).toBeLessThanOrEqual(depth / 2)
    expect(base).toBeGreaterThan(0)
    expect(higher + base).toBeLessThanOrEqual(depth)
    expect(budget.decide(119, target, 1000)).toBe('budget')
  })

  it.each([
    { layer: 0, ageMs: USEFUL_MS[0]!, expected: 'sent' },
    { layer: 0, ageMs: USEFUL_MS[0]! + 1, expected: 'stale' },
    { layer: 2, ageMs: USEFUL_MS[2]!, expected: 'sent' },
    { layer: 2, ageMs: USEFUL_MS[2]! + 1, expected: 'stale' },
  ])('layer $layer sent $ageMs ms ago: $expected', ({ layer, ageMs, expected }) => {
    const budget = new UplinkRetransmitBudget()
    budget.sent(7, PACKET, layer, 0)
    expect(budget.decide(7, 1_000_000, ageMs)).toBe(expected)
  })

  it('knows nothing of a number it did not send, nor of one its history has overwritten', () => {
    const budget = new UplinkRetransmitBudget()
    sendRun(budget, 65_000, 2000, 0, 0) // across the 16-bit wrap
    expect(budget.decide(64_999, 1_000_000, 10)).toBe('unknown')
    expect(budget.decide(65_000, 1_000_000, 10)).toBe('unknown') // 2000 sent since: overwritten
    expect(budget.decide((65_000 + 1999) & 0xffff, 1_000_000, 10)).toBe('sent')
  })
})
