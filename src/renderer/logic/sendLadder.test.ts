import { describe, expect, it } from 'vitest'
import {
  CONSTRAINED_SHARE,
  keepFrame,
  MAX_VIDEO_BPS,
  MIN_VIDEO_BPS,
  SendLadder,
  START_TARGET_BPS,
  UP_HOLD_MS,
  videoBudget,
  worthReconfiguring,
  type EncoderSettings,
} from './sendLadder'
import { ESTIMATOR_DEFAULTS } from '../../protocol/media/bwe/types'

const AUDIO = 32_000
const full = { width: 640, height: 360, fps: 30 }
const small30 = { width: 320, height: 180, fps: 30 }
const small15 = { width: 320, height: 180, fps: 15 }

describe('videoBudget: audio, its overhead and the video packets’ overhead come off the top', () => {
  it.each([
    // total, fps, video: (total − 32000 − 50·240 − fps·240) / (1 + 30/1200)
    [800_000, 30, 730_537],
    [400_000, 30, 340_293],
    [150_000, 15, 99_902],
    [60_000, 15, 12_098],
    [40_000, 15, -7_415],
  ])('%i bit/s at %i fps → %i bit/s of video', (total, fps, video) => {
    expect(Math.round(videoBudget(total, AUDIO, fps))).toBe(video)
  })
})

describe('SendLadder', () => {
  it('sends the estimate’s start value (300 kbit/s) at 640x360 30 fps until the engine sends a target', () => {
    const ladder = new SendLadder(AUDIO)
    ladder.tick(0)
    expect(START_TARGET_BPS).toBe(ESTIMATOR_DEFAULTS.startBps)
    expect(ladder.settings()).toEqual({ ...full, bitrateBps: 242_732 })
  })

  it.each([
    ['a link that allows more gets the cap', 3_000_000, { ...full, bitrateBps: MAX_VIDEO_BPS }],
    ['800 kbit/s: full rung', 800_000, { ...full, bitrateBps: 730_537 }],
    ['400 kbit/s: still 30 fps, a pure bitrate change', 400_000, { ...full, bitrateBps: 340_293 }],
    ['300 kbit/s: 320x180 first, still 30 fps', 300_000, { ...small30, bitrateBps: 242_732 }],
    // bench:network `poor`: each participant's share of 600 kbit/s, less what the estimate keeps back.
    ['150 kbit/s: still 30 fps at 320x180', 150_000, { ...small30, bitrateBps: 96_390 }],
    ['100 kbit/s: then 15 fps', 100_000, { ...small15, bitrateBps: 51_122 }],
    ['60 kbit/s: never below the floor', 60_000, { ...small15, bitrateBps: MIN_VIDEO_BPS }],
  ])('down at once — %s', (_what, total, settings) => {
    const ladder = new SendLadder(AUDIO)
    ladder.setTarget(total, 0)
    expect(ladder.settings()).toEqual(settings)
  })

  it.each<[string, [number, number][], EncoderSettings]>([
    [
      'back up only after the hold, straight to the rung that fits',
      [
        [800_000, -1_000],
        [100_000, 0],
        [900_000, 1_000],
        [900_000, 1_000 + UP_HOLD_MS - 1],
      ],
      { ...small15, bitrateBps: 831_610 },
    ],
    [
      '…and then it goes',
      [
        [800_000, -1_000],
        [100_000, 0],
        [900_000, 1_000],
        [900_000, 1_000 + UP_HOLD_MS],
      ],
      { ...full, bitrateBps: 828_098 },
    ],
    [
      // 120 kbit/s leaves 67 kbit/s at 30 fps: under the 104 kbit/s (1.3 × 80) 320x180 at 30 fps needs.
      'a dip below the margin restarts the hold',
      [
        [800_000, -1_000],
        [100_000, 0],
        [900_000, 1_000],
        [120_000, 2_000],
        [900_000, 2_500],
        [900_000, 2_500 + UP_HOLD_MS - 1],
      ],
      { ...small15, bitrateBps: 831_610 },
    ],
    [
      // 320x180 15 fps → 30 fps needs 80 × 1.3 = 104 kbit/s of video: 157.8 kbit/s in all.
      'just above the floor is not enough to go up to 30 fps (hysteresis)',
      [
        [800_000, -1_000],
        [100_000, 0],
        [150_000, 100],
        [150_000, 100 + 3 * UP_HOLD_MS],
      ],
      { ...small15, bitrateBps: 99_902 },
    ],
    [
      'with the margin it goes up to 30 fps',
      [
        [800_000, -1_000],
        [100_000, 0],
        [170_000, 100],
        [170_000, 100 + UP_HOLD_MS],
      ],
      { ...small30, bitrateBps: 115_902 },
    ],
    [
      // 320x180 → 640x360 at 30 fps needs 250 × 1.3 = 325 kbit/s of video: 384 kbit/s in all.
      'just above the floor is not enough to go up to 640x360 (hysteresis)',
      [
        [800_000, -1_000],
        [300_000, 0],
        [370_000, 100],
        [370_000, 100 + 3 * UP_HOLD_MS],
      ],
      { ...small30, bitrateBps: 311_024 },
    ],
    [
      'with the margin it goes up to 640x360',
      [
        [800_000, -1_000],
        [300_000, 0],
        [390_000, 100],
        [390_000, 100 + UP_HOLD_MS],
      ],
      { ...full, bitrateBps: 330_537 },
    ],
    [
      'at the start, before any drop: up as soon as the margin is cleared (the estimate ramps from 300 kbit/s)',
      [
        [300_000, 0],
        [594_000, 400],
      ],
      { ...full, bitrateBps: 529_561 },
    ],
    [
      'the first target is taken as it is, not as a drop',
      [
        [100_000, 0],
        [300_000, 400],
      ],
      { ...small30, bitrateBps: 242_732 },
    ],
    [
      'a target that drops during the hold goes down at once',
      [
        [300_000, 0],
        [900_000, 100],
        [100_000, 200],
      ],
      { ...small15, bitrateBps: 51_122 },
    ],
  ])('%s', (_what, steps, settings) => {
    const ladder = new SendLadder(AUDIO)
    for (const [total, at] of steps) ladder.setTarget(total, at)
    expect(ladder.settings()).toEqual(settings)
  })

  it('ends a hold on a tick without a new target', () => {
    const ladder = new SendLadder(AUDIO)
    ladder.setTarget(800_000, 0)
    ladder.setTarget(100_000, 5)
    ladder.setTarget(900_000, 10)
    ladder.tick(10 + UP_HOLD_MS / 2)
    expect(ladder.settings()).toMatchObject(small15)
    ladder.tick(10 + UP_HOLD_MS)
    expect(ladder.settings()).toMatchObject(full)
  })

  it.each([
    // 250 kbit/s of video at 30 fps is ≈ 307 kbit/s in all; swing −17/+18 kbit/s every 300 ms for a minute.
    ['640x360’s floor', 290_000, 325_000, '320x180@30'],
    // 80 kbit/s of video at 30 fps is ≈ 133 kbit/s in all.
    ['320x180 30 fps’s floor', 125_000, 140_000, '320x180@15'],
  ])('does not flap when the target swings around %s', (_what, low, high, settled) => {
    const ladder = new SendLadder(AUDIO)
    const rungs = new Set<string>()
    for (let t = 0; t < 60_000; t += 300) {
      ladder.setTarget(t % 600 === 0 ? low : high, t)
      const { width, height, fps } = ladder.settings()
      rungs.add(`${width}x${height}@${fps}`)
    }
    expect(rungs).toEqual(new Set([settled]))
  })
})

/** A target (bit/s) or the encoder's measured output (`sent`, bit/s), at a time (ms). */
type Step = ['target', number, number] | ['sent', number, number]

function replay(steps: Step[]): SendLadder {
  const ladder = new SendLadder(AUDIO)
  for (const [kind, bps, at] of steps) {
    if (kind === 'target') ladder.setTarget(bps, at)
    else ladder.measured(bps, at)
  }
  return ladder
}

describe('SendLadder: size and frame rate go down only when the encoder fills its budget', () => {
  it.each<[string, Step[], EncoderSettings]>([
    [
      // The fake camera needs ~60 kbit/s at 640x360: a falling (application-limited) estimate keeps the rung.
      'simple content keeps 640x360 at 30 fps on a 150 kbit/s target; the bitrate still follows',
      [
        ['target', 800_000, 0],
        ['sent', 60_000, 1_500],
        ['target', 150_000, 3_000],
      ],
      { ...full, bitrateBps: 96_390 },
    ],
    [
      'busy content (it sent what it was asked) goes down at once',
      [
        ['target', 800_000, 0],
        ['sent', 700_000, 1_500],
        ['target', 150_000, 3_000],
      ],
      { ...small30, bitrateBps: 96_390 },
    ],
    [
      `just under ${CONSTRAINED_SHARE} of the new budget (81.9 kbit/s of 96.4) keeps the rung`,
      [
        ['target', 800_000, 0],
        ['sent', 81_000, 1_500],
        ['target', 150_000, 3_000],
      ],
      { ...full, bitrateBps: 96_390 },
    ],
    [
      `at ${CONSTRAINED_SHARE} of it, down`,
      [
        ['target', 800_000, 0],
        ['sent', 82_000, 1_500],
        ['target', 150_000, 3_000],
      ],
      { ...small30, bitrateBps: 96_390 },
    ],
    [
      'a rung kept on simple content goes down once the content fills the budget',
      [
        ['target', 800_000, 0],
        ['sent', 60_000, 1_500],
        ['target', 150_000, 3_000],
        ['sent', 90_000, 4_500],
      ],
      { ...small30, bitrateBps: 96_390 },
    ],
    [
      'a measure is for its rung only: the next drop after a drop needs none',
      [
        ['target', 800_000, 0],
        ['sent', 300_000, 1_500],
        ['target', 300_000, 3_000],
        ['target', 100_000, 3_100],
      ],
      { ...small15, bitrateBps: 51_122 },
    ],
    [
      // The spiral: the estimate starts at 300 kbit/s, ramps, then rots to 120 kbit/s with a ~50 kbit/s
      // sender (67 kbit/s of video at 30 fps: the content still fits).
      'the application-limited estimate falling to 120 kbit/s keeps 640x360 at 30 fps',
      [
        ['target', 300_000, 0],
        ['target', 450_000, 400],
        ['sent', 52_000, 1_900],
        ['target', 260_000, 2_000],
        ['target', 220_000, 2_500],
        ['sent', 50_000, 2_900],
        ['target', 150_000, 3_000],
        ['target', 120_000, 3_500],
        ['sent', 51_000, 3_900],
      ],
      { ...full, bitrateBps: 67_122 },
    ],
  ])('%s', (_what, steps, settings) => {
    expect(replay(steps).settings()).toEqual(settings)
  })
})

describe('SendLadder: back up on content alone when the estimate stays low', () => {
  // Busy content took it to 320x180 at 150 kbit/s; the estimate then stays at 200 kbit/s, under the
  // 1.3 × floor 640x360 needs; the content becomes simple.
  const dropped: Step[] = [
    ['target', 800_000, -2_000],
    ['sent', 700_000, -1_000],
    ['target', 150_000, 0],
    ['target', 200_000, 500],
  ]
  it.each<[string, Step[], EncoderSettings]>([
    [
      // 12 kbit/s at 320x180 → 48 at 640x360 (4× the pixels) ≤ half its 145.2 kbit/s budget.
      'simple at 320x180: 640x360 after the hold',
      [...dropped, ['sent', 12_000, 1_500], ['sent', 12_000, 1_500 + UP_HOLD_MS]],
      { ...full, bitrateBps: 145_171 },
    ],
    [
      'not before the hold',
      [...dropped, ['sent', 12_000, 1_500], ['sent', 12_000, 1_500 + UP_HOLD_MS - 1]],
      { ...small30, bitrateBps: 145_171 },
    ],
    [
      // 20 kbit/s → 80 kbit/s at 640x360: more than half the budget, the move could not last.
      'content that would need more than half the better rung’s budget stays',
      [...dropped, ['sent', 20_000, 1_500], ['sent', 20_000, 1_500 + 3 * UP_HOLD_MS]],
      { ...small30, bitrateBps: 145_171 },
    ],
    [
      // From 320x180 at 15 fps (100 kbit/s, then 140): 12 kbit/s → 24 at 30 fps ≤ half of 86.6 kbit/s;
      // there 10 kbit/s → 40 at 640x360 ≤ half of it again.
      'one rung at a time, each on its own measure: 30 fps, then 640x360',
      [
        ['target', 800_000, -2_000],
        ['sent', 700_000, -1_000],
        ['target', 100_000, 0],
        ['target', 140_000, 500],
        ['sent', 12_000, 1_500],
        ['sent', 12_000, 1_500 + UP_HOLD_MS],
        ['sent', 10_000, 5_000],
        ['sent', 10_000, 5_000 + UP_HOLD_MS],
      ],
      { ...full, bitrateBps: 86_634 },
    ],
    [
      'a busy measure in between restarts the hold',
      [
        ...dropped,
        ['sent', 12_000, 1_500],
        ['sent', 90_000, 2_500],
        ['sent', 12_000, 3_500],
        ['sent', 12_000, 1_500 + UP_HOLD_MS],
      ],
      { ...small30, bitrateBps: 145_171 },
    ],
  ])('%s', (_what, steps, settings) => {
    expect(replay(steps).settings()).toEqual(settings)
  })

  it('stays up with no new measure yet (the target still under the floor), and then on a simple one', () => {
    const ladder = replay([...dropped, ['sent', 12_000, 1_500], ['sent', 12_000, 1_500 + UP_HOLD_MS]])
    for (let t = 1_500 + UP_HOLD_MS; t < 15_000; t += 33) ladder.tick(t)
    expect(ladder.settings()).toMatchObject(full)
    ladder.measured(45_000, 15_000) // under 85 % of its 145.2 kbit/s budget
    ladder.setTarget(200_000, 15_100)
    expect(ladder.settings()).toMatchObject(full)
    ladder.measured(130_000, 16_000) // the content got busy: ≥ 85 %
    expect(ladder.settings()).toMatchObject(small30)
  })
})

describe('worthReconfiguring', () => {
  const now: EncoderSettings = { ...full, bitrateBps: 400_000 }
  it.each([
    [{ ...now, bitrateBps: 419_000 }, false],
    [{ ...now, bitrateBps: 381_000 }, false],
    [{ ...now, bitrateBps: 420_000 }, true],
    [{ ...now, bitrateBps: 380_000 }, true],
    [{ ...now, fps: 15 }, true],
    [{ ...now, width: 320, height: 180 }, true],
  ])('%o → %s', (next, worth) => {
    expect(worthReconfiguring(now, next)).toBe(worth)
  })
})

describe('keepFrame', () => {
  it.each([
    ['the first frame', null, 0, 30, true],
    ['30 fps camera at 30 fps', 0, 33_333, 30, true],
    ['a late-jittered frame at 30 fps', 0, 26_000, 30, true],
    ['30 fps camera at 15 fps: the next frame goes', 0, 33_333, 15, false],
    ['30 fps camera at 15 fps: the one after is kept', 0, 66_667, 15, true],
    ['a timestamp going back (a new track)', 1_000_000, 0, 15, true],
  ])('%s', (_what, last, now, fps, kept) => {
    expect(keepFrame(last, now, fps)).toBe(kept)
  })

  it('halves a 30 fps camera at 15 fps, and keeps every frame at 30', () => {
    const count = (fps: number): number => {
      let last: number | null = null
      let kept = 0
      for (let i = 0; i < 300; i++) {
        const ts = Math.round((i * 1_000_000) / 30) + (i % 3) * 2_000 // a few ms of camera jitter
        if (keepFrame(last, ts, fps)) {
          last = ts
          kept++
        }
      }
      return kept
    }
    expect(count(30)).toBe(300)
    expect(count(15)).toBe(150)
  })
})
