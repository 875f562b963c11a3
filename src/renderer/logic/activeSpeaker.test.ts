import { describe, expect, it } from 'vitest'
import { createActiveSpeaker } from './activeSpeaker'

type Step = [atMs: number, levels: Record<number, number>, speaker: number | null]

/** Default options: threshold 0.01, margin 1.5, switch after 600 ms, hold 1500 ms. */
const CASES: { name: string; steps: Step[] }[] = [
  {
    name: 'nobody above the threshold: no speaker',
    steps: [
      [0, { 0: 0.005, 7: 0.01 }, null],
      [100, { 0: 0, 7: 0.002 }, null],
    ],
  },
  {
    name: 'the first voice takes the stage at once',
    steps: [
      [0, { 0: 0, 7: 0 }, null],
      [100, { 0: 0, 7: 0.2 }, 7],
    ],
  },
  {
    name: 'silence keeps the last speaker',
    steps: [
      [0, { 0: 0, 7: 0.2 }, 7],
      [100, { 0: 0, 7: 0 }, 7],
      [60_000, { 0: 0.005, 7: 0 }, 7],
    ],
  },
  {
    name: 'a louder voice takes over after 600 ms of being the loudest, once the speaker held 1.5 s',
    steps: [
      [0, { 7: 0.2, 8: 0 }, 7],
      [2000, { 7: 0.05, 8: 0.3 }, 7],
      [2500, { 7: 0.05, 8: 0.3 }, 7],
      [2600, { 7: 0.05, 8: 0.3 }, 8],
    ],
  },
  {
    name: 'the hold: a challenger waits until the speaker has had the stage 1.5 s',
    steps: [
      [0, { 7: 0.2, 8: 0 }, 7],
      [100, { 7: 0, 8: 0.3 }, 7],
      [800, { 7: 0, 8: 0.3 }, 7],
      [1400, { 7: 0, 8: 0.3 }, 7],
      [1500, { 7: 0, 8: 0.3 }, 8],
    ],
  },
  {
    name: 'no flicker: two voices alternating every 200 ms never move the stage',
    steps: [
      [0, { 7: 0.2, 8: 0 }, 7],
      ...Array.from({ length: 30 }, (_, i): Step => [
        2000 + i * 200,
        i % 2 === 0 ? { 7: 0.05, 8: 0.3 } : { 7: 0.3, 8: 0.05 },
        7,
      ]),
    ],
  },
  {
    name: 'not loud enough: within 1.5 times the speaker is no challenge',
    steps: [
      [0, { 7: 0.2, 8: 0 }, 7],
      [2000, { 7: 0.2, 8: 0.29 }, 7],
      [5000, { 7: 0.2, 8: 0.29 }, 7],
    ],
  },
  {
    name: 'a pause of the challenger restarts its 600 ms',
    steps: [
      [0, { 7: 0.2, 8: 0 }, 7],
      [2000, { 7: 0.05, 8: 0.3 }, 7],
      [2400, { 7: 0, 8: 0 }, 7],
      [2500, { 7: 0.05, 8: 0.3 }, 7],
      [3000, { 7: 0.05, 8: 0.3 }, 7],
      [3100, { 7: 0.05, 8: 0.3 }, 8],
    ],
  },
  {
    name: 'the speaker leaves: forgotten, and the next voice takes the stage at once',
    steps: [
      [0, { 7: 0.2, 8: 0 }, 7],
      [100, { 8: 0 }, null],
      [200, { 8: 0.1 }, 8],
    ],
  },
  {
    name: 'this user (uid 0) is a speaker like any other',
    steps: [
      [0, { 0: 0.4, 7: 0.02 }, 0],
      [3000, { 0: 0, 7: 0 }, 0],
    ],
  },
]

describe('active speaker', () => {
  it.each(CASES)('$name', ({ steps }) => {
    const speaker = createActiveSpeaker()
    for (const [atMs, levels, expected] of steps) {
      expect(speaker.update(levels, atMs), `at ${atMs} ms`).toBe(expected)
      expect(speaker.speaker).toBe(expected)
    }
  })
})
