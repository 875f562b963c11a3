import { describe, expect, it } from 'vitest'
import { bitrateFor, lossStep, OPUS_START, OpusPolicy, type OpusSettings } from './opusPolicy'

const MBIT = 1_000_000

/** Feeds [ms, budget bit/s, loss] reports; returns what each one switched to (null: kept). */
function run(reports: [number, number, number][]): (Partial<OpusSettings> | null)[] {
  const policy = new OpusPolicy()
  return reports.map(([ms, bitrateBps, lossFraction]) => policy.update({ bitrateBps, lossFraction }, ms))
}

type Case = [string, [number, number, number][], (Partial<OpusSettings> | null)[]]

const CASES: Case[] = [
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
    'the expected loss is the worst of the last 10 s, changed at most every 10 s',
    [
      [0, MBIT, 0.05],
      [1000, MBIT, 0.15],
      [9000, MBIT, 0.01],
      [10_000, MBIT, 0.02],
      [21_000, MBIT, 0.02],
    ],
    [{ fec: true, packetLossPerc: 5 }, null, null, { packetLossPerc: 20 }, { packetLossPerc: 2 }],
  ],
  [
    'FEC stays on through clean reports, off when none of the last 10 s lost 0.5 %',
    [
      [0, MBIT, 0.05],
      [6000, MBIT, 0],
      [9000, MBIT, 0.006],
      [10_000, MBIT, 0],
      [19_000, MBIT, 0],
      [20_000, MBIT, 0],
    ],
    [{ fec: true, packetLossPerc: 5 }, null, null, { fec: true, packetLossPerc: 2 }, { fec: false }, null],
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
    'the bitrate follows the best estimate of the last 10 s: one low report is not a slow link',
    [
      [0, 100_000, 0],
      [1000, 30_000, 0],
      [12_000, 50_000, 0],
      [23_000, 30_000, 0],
      [40_000, 2 * MBIT, 0],
    ],
    [null, null, { bitrate: 24_000 }, { bitrate: 16_000 }, { bitrate: 32_000 }],
  ],
  [
    'a FEC change is not held back by the interval',
    [
      [0, 50_000, 0],
      [500, 50_000, 0.05],
    ],
    [
      { bitrate: 24_000, fec: false },
      { bitrate: 24_000, fec: true },
    ],
  ],
  [
    'below 32 kbit/s FEC asks for at least 10 % expected loss: libopus narrows its band for LBRR only above 5 %',
    [
      [0, 50_000, 0.03],
      [20_000, 2 * MBIT, 0.03],
    ],
    [
      { bitrate: 24_000, fec: true, packetLossPerc: 10 },
      { bitrate: 32_000, fec: true, packetLossPerc: 5 },
    ],
  ],
  [
    'with FEC on a link under 40 kbit/s gets 20 kbit/s, where libopus codes LBRR (none at 16), 16 once it is off',
    [
      [0, 30_000, 0.03],
      [5000, 30_000, 0],
      [16_000, 30_000, 0],
    ],
    [
      { bitrate: 20_000, fec: true, packetLossPerc: 10 },
      null,
      { bitrate: 16_000, fec: false, packetLossPerc: 0 },
    ],
  ],
  [
    'figures that are no numbers count as none',
    [[0, Number.NaN, Number.NaN]],
    [{ bitrate: 16_000, fec: false }],
  ],
]

describe('OpusPolicy', () => {
  it('starts with DTX on, FEC off, 32 kbit/s', () => {
    expect(OPUS_START).toEqual({ bitrate: 32_000, fec: false, packetLossPerc: 0, dtx: true })
  })

  it.each(CASES)('%s', (_what, reports, expected) => {
    const got = run(reports)
    expect(got.length).toBe(expected.length)
    got.forEach((settings, i) => {
      if (expected[i] === null) expect(settings, `report ${i}`).toBeNull()
      else expect(settings, `report ${i}`).toMatchObject({ ...expected[i], dtx: true })
    })
  })

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
    [64_000, 32_000],
    [63_999, 24_000],
    [40_000, 24_000],
    [30_000, 16_000],
  ])('budget %d bit/s → Opus %d bit/s', (budget, bitrate) => expect(bitrateFor(budget)).toBe(bitrate))
})
