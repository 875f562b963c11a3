import { describe, expect, it } from 'vitest'
import {
  endedOnNode,
  percentile,
  projectToCeiling,
  seededRandom,
  shuffle,
  spread,
  sustained,
} from '../../bench/cluster/stats'

describe('bench:cluster figures', () => {
  it('takes the nearest-rank percentile', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i) // 100..1, unsorted on purpose
    expect(percentile(values, 50)).toBe(50)
    expect(percentile(values, 99)).toBe(99)
    expect(percentile(values, 100)).toBe(100)
    expect(percentile([7], 99)).toBe(7)
    expect(percentile([3, 1, 2], 50)).toBe(2)
    expect(percentile([], 50)).toBeUndefined()
  })

  it('measures the spread as the largest deviation from the mean', () => {
    expect(spread([78, 79, 78, 79])).toEqual({ min: 78, max: 79, mean: 78.5, deviation: 0.5 / 78.5 })
    expect(spread([6, 8, 6, 6, 6, 6, 6, 6]).deviation).toBeCloseTo(1.75 / 6.25)
    expect(spread([]).deviation).toBe(0)
  })

  it('sustains the last clean step before the first lossy one', () => {
    const steps = [
      { participants: 8, loss: 0, offered: 1 },
      { participants: 16, loss: 0.004, offered: 0.97 },
      { participants: 24, loss: 0.03, offered: 0.95 },
      // Past the knee a window may measure clean again: it does not count.
      { participants: 32, loss: 0.002, offered: 1 },
    ]
    expect(sustained(steps, 0.01, 0.9)).toBe(16)
    expect(sustained([{ participants: 8, loss: 0.5, offered: 1 }], 0.01, 0.9)).toBe(0)
    expect(sustained([], 0.01, 0.9)).toBe(0)
  })

  it('does not count a step whose senders could not send their rate', () => {
    const steps = [
      { participants: 8, loss: 0, offered: 0.98 },
      // No loss, but the generator was starved: a third of the nominal packets went out.
      { participants: 16, loss: 0, offered: 0.3 },
      { participants: 24, loss: 0, offered: 0.95 },
    ]
    expect(sustained(steps, 0.01, 0.9)).toBe(8)
  })

  it('projects where a node reaches a full core from its marginal CPU per participant', () => {
    // 10 % fixed cost, 2.5 % per participant: a full core at 36 participants.
    const line = [8, 16, 24].map((participants) => ({ participants, cpu: 10 + 2.5 * participants }))
    expect(projectToCeiling(line)).toBeCloseTo(36)
    expect(projectToCeiling([{ participants: 8, cpu: 30 }])).toBeUndefined()
    expect(
      projectToCeiling([
        { participants: 8, cpu: 30 },
        { participants: 16, cpu: 20 },
      ]),
    ).toBeUndefined()
  })

  it('shuffles the same way for the same seed, and differently for another', () => {
    const order = (seed: number) => shuffle([...Array(20).keys()], seededRandom(seed))
    expect(order(1)).toEqual(order(1))
    expect(order(1)).not.toEqual(order(2))
    expect([...order(1)].sort((a, b) => a - b)).toEqual([...Array(20).keys()])
  })

  it('tells a ramp that ended on its node from one that ended on something else', () => {
    const ramp = (...cpu: number[]) => cpu.map((busiestNodeCpu) => ({ busiestNodeCpu }))
    expect(endedOnNode(ramp(20, 40, 60, 93), 70)).toBe(true)
    expect(endedOnNode(ramp(20, 43, 21), 70)).toBe(false) // the last step failed with the node at 21 %
    expect(endedOnNode(ramp(), 70)).toBe(false)
  })
})
