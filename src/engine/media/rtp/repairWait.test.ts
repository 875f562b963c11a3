import { describe, expect, it } from 'vitest'
import { REPAIR_WAIT_CHAIN_MAX_MS, REPAIR_WAIT_MAX_MS, RepairWait } from './repairWait'

/** Packets 0..n−1 20 ms apart, with `late` arriving `delayMs` after the packet that followed it. */
function stream(wait: RepairWait, n: number, late: readonly number[], delayMs: number): void {
  const arrivals = Array.from({ length: n }, (_, seq) => ({
    seq,
    at: late.includes(seq) ? (seq + 1) * 20 + delayMs : seq * 20,
  }))
  for (const { seq, at } of arrivals.sort((a, b) => a.at - b.at)) wait.onPacket(seq, at)
}

describe('RepairWait', () => {
  it('the configured wait until a repair was seen', () => {
    const wait = new RepairWait(250)
    stream(wait, 100, [], 0)
    expect(wait.waitMs()).toBe(250)
  })

  it('slow repairs: the slowest recent one plus a margin, outliers left out', () => {
    const wait = new RepairWait(250)
    stream(wait, 400, [10, 30, 50, 70, 90, 110, 130, 150, 170, 190], 300)
    expect(wait.waitMs()).toBe(330)
    const outlier = new RepairWait(250)
    const late = Array.from({ length: 20 }, (_, i) => 10 + i * 20)
    const arrivals = late.map((seq, i) => ({ seq, at: (seq + 1) * 20 + (i === 3 ? 900 : 300) }))
    const all = [
      ...Array.from({ length: 420 }, (_, seq) => ({ seq, at: seq * 20 })).filter(
        (a) => !late.includes(a.seq),
      ),
      ...arrivals,
    ]
    for (const { seq, at } of all.sort((a, b) => a.at - b.at)) outlier.onPacket(seq, at)
    expect(outlier.waitMs()).toBe(330)
  })

  it('never longer than the freeze rule, never shorter than configured', () => {
    const slow = new RepairWait(250)
    stream(slow, 200, [10, 50, 90], 800)
    expect(slow.waitMs()).toBe(REPAIR_WAIT_MAX_MS)
    const fast = new RepairWait(250)
    stream(fast, 200, [10, 50, 90], 40)
    expect(fast.waitMs()).toBe(250)
  })

  it('a frame the chain hangs on may wait up to REPAIR_WAIT_CHAIN_MAX_MS when repairs take that long', () => {
    const slow = new RepairWait(250)
    stream(slow, 200, [10, 50, 90], 800)
    expect(slow.waitMs(true)).toBe(830)
    const slower = new RepairWait(250)
    stream(slower, 200, [10, 50, 90], 990)
    expect(slower.waitMs(true)).toBe(REPAIR_WAIT_CHAIN_MAX_MS)
    const fast = new RepairWait(250)
    stream(fast, 200, [10, 50, 90], 100)
    expect(fast.waitMs(true)).toBe(250)
  })

  it('a hole never repaired teaches nothing, however late a packet of that number comes', () => {
    const wait = new RepairWait(250)
    stream(wait, 100, [], 0)
    wait.onPacket(120, 2000) // 100..119 missing from 2000
    wait.onPacket(105, 3500) // 1.5 s later: forgotten, not a repair
    expect(wait.waitMs()).toBe(250)
  })
})
