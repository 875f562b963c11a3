import { describe, expect, it } from 'vitest'
import { bitrateFor, lossStep, OPUS_START, OpusPolicy, type OpusSettings } from './opusPolicy'

const MBIT = 1_000_000

/** Feeds [ms, budget bit/s, loss] reports; returns what each one switched to (null: kept). */
function run(reports: [number, number, number][]): (Partial<OpusSettings> | null)[] {
  const policy = new OpusPolicy()
  return reports.map(([ms, bitrateBps, lossFraction]) => policy.update({ bitrateBps, lossFraction }, ms))
}

describe('OpusPolicy', () => {
  it('starts with DTX on, FEC off, 32 kbit/s', () => {
    expect(OPUS_START).toEqual({ bitrate: 32_000, fec: false, packetLossPerc: 0, dtx: true })
  })

  it.each([
    [
      'a clean link changes nothing',
      [
        [0, MBIT, 0],
        [1000, MBIT, 0.004],
      ],
      [null, null],
    ],
    [
      'loss above 1 % turns FEC on at once, with the loss rounded up to a step',
      [
        [0, MBIT, 0.012],
        [100, MBIT, 0.05],
      ],
      [{ fec: true, packetLossPerc: 2 }, null],
    ],
    [
      'the expected loss follows the loss, at most every 5 s',
      [
        [0, MBIT, 0.05],
        [1000, MBIT, 0.15],
        [5000, MBIT, 0.15],
      ],
      [{ fec: true, packetLossPerc: 5 }, null, { fec: true, packetLossPerc: 20 }],
    ],
    [
      'FEC stays on through a clean report, off after 10 s under 0.5 %',
      [
        [0, MBIT, 0.05],
        [6000, MBIT, 0],
        [9000, MBIT, 0.02],
        [10_000, MBIT, 0.001],
        [19_000, MBIT, 0],
        [20_000, MBIT, 0],
      ],
      [
        { fec: true, packetLossPerc: 5 },
        { fec: true, packetLossPerc: 2 },
        null,
        null,
        null,
        { fec: false, packetLossPerc: 0 },
      ],
    ],
    [
      'loss between the thresholds keeps FEC as it is',
      [
        [0, MBIT, 0.008],
        [1000, MBIT, 0.03],
        [20_000, MBIT, 0.008],
        [40_000, MBIT, 0.008],
      ],
      [null, { fec: true, packetLossPerc: 5 }, { fec: true, packetLossPerc: 2 }, null],
    ],
    [
      'the bitrate steps down with a small budget and back up, not faster than every 5 s',
      [
        [0, 100_000, 0],
        [1000, 50_000, 0],
        [6000, 50_000, 0],
        [20_000, 2 * MBIT, 0],
      ],
      [{ bitrate: 24_000 }, null, { bitrate: 16_000 }, { bitrate: 32_000 }],
    ],
    [
      'a FEC change is not held back by the interval',
      [
        [0, 100_000, 0],
        [500, 100_000, 0.05],
      ],
      [
        { bitrate: 24_000, fec: false },
        { bitrate: 24_000, fec: true },
      ],
    ],
    ['a loss figure that is no number counts as none', [[0, MBIT, Number.NaN]], [null]],
  ] as [string, [number, number, number][], (Partial<OpusSettings> | null)[]][])(
    '%s',
    (_what, reports, expected) => {
      const got = run(reports)
      expect(got.length).toBe(expected.length)
      got.forEach((settings, i) => {
        if (expected[i] === null) expect(settings).toBeNull()
        else expect(settings).toMatchObject({ ...expected[i], dtx: true })
      })
    },
  )

  it.each([
    [0, 2],
    [0.02, 2],
    [0.021, 5],
    [0.05, 5],
    [0.12, 20],
    [0.6, 30],
  ])('loss %d → expected loss %d %%', (loss, step) => expect(lossStep(loss)).toBe(step))

  it.each([
    [2 * MBIT, 32_000],
    [150_000, 32_000],
    [149_999, 24_000],
    [80_000, 24_000],
    [10_000, 16_000],
  ])('budget %d bit/s → Opus %d bit/s', (budget, bitrate) => expect(bitrateFor(budget)).toBe(bitrate))
})
