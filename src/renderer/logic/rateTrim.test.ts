import { describe, expect, it } from 'vitest'
import { MIN_TRIM, RateTrim, TRIM_SETTLE_MS, TRIM_WINDOW_MS } from './rateTrim'

const BUDGET = 340_000

/**
 * An encoder that sends `bias` × what it is asked, 30 frames a second, a key frame of `keyBytes` every
 * 10 s; the sender reconfigures whenever the scale moves. Returns the scale and what was sent in the last
 * second, bit/s.
 */
function run(
  bias: (askedBps: number) => number,
  seconds: number,
  keyBytes = 0,
): { scale: number; sentBps: number } {
  const trim = new RateTrim(0)
  let asked = BUDGET
  let lastSecond = 0
  for (let frame = 0; frame < seconds * 30; frame++) {
    const now = (frame * 1000) / 30
    const keyFrame = keyBytes > 0 && frame % 300 === 0
    const bytes = keyFrame ? keyBytes : bias(asked) / 30 / 8
    if (frame >= (seconds - 1) * 30) lastSecond += bytes * 8
    if (trim.onChunk(bytes, keyFrame, BUDGET, now)) {
      asked = BUDGET * trim.scale
      trim.reconfigured(now, false)
    }
  }
  return { scale: trim.scale, sentBps: lastSecond }
}

describe('RateTrim', () => {
  it.each([
    ['an encoder 15 % over: asked less until it sends the budget', (a: number) => a * 1.15, 1 / 1.15],
    ['20 % over, with a 40 KB key frame every 10 s (not counted)', (a: number) => a * 1.2, 1 / 1.2],
    ['an encoder under the budget (easy content): never asked for more', (a: number) => a * 0.7, 1],
    ['an encoder that cannot go lower: the scale stops at its floor', () => BUDGET * 2, MIN_TRIM],
  ])('%s', (what, bias, scale) => {
    const { scale: got, sentBps } = run(bias, 20, what.includes('key frame') ? 40_000 : 0)
    expect(got).toBeCloseTo(scale, 2)
    if (scale < 1 && scale > MIN_TRIM) expect(Math.abs(sentBps - BUDGET) / BUDGET).toBeLessThan(0.02)
  })

  it('one busy second (twice the budget) is forgotten within a few seconds of an encoder on target', () => {
    const trim = new RateTrim(0)
    let asked = BUDGET
    const scales: number[] = []
    for (let frame = 0; frame < 10 * 30; frame++) {
      const now = (frame * 1000) / 30
      const busy = now >= TRIM_SETTLE_MS && now < TRIM_SETTLE_MS + TRIM_WINDOW_MS
      if (trim.onChunk(((busy ? 2 : 1) * asked) / 30 / 8, false, BUDGET, now)) {
        asked = BUDGET * trim.scale
        scales.push(trim.scale)
        trim.reconfigured(now, false)
      }
    }
    expect(scales[0]).toBeCloseTo(Math.SQRT1_2, 2) // half the step, not the whole 0.5
    expect(trim.scale).toBeGreaterThan(0.95)
  })

  it('measures nothing while the encoder settles, and decides only after a whole window', () => {
    const trim = new RateTrim(0)
    const chunk = (1.25 * BUDGET) / 30 / 8 // 30 a second: 25 % over
    expect(trim.onChunk(chunk * 100, false, BUDGET, TRIM_SETTLE_MS - 1)).toBe(false)
    for (let i = 0; i < (TRIM_WINDOW_MS * 30) / 1000; i++)
      expect(trim.onChunk(chunk, false, BUDGET, TRIM_SETTLE_MS + (i * 1000) / 30)).toBe(false)
    expect(trim.onChunk(chunk, false, BUDGET, TRIM_SETTLE_MS + TRIM_WINDOW_MS)).toBe(true)
    expect(trim.scale).toBeCloseTo(Math.sqrt(0.8), 2) // half the step, in ratio
  })

  it('hands each closed window’s delta-frame rate over once (the send ladder reads it), key frames not counted', () => {
    const trim = new RateTrim(0)
    const chunk = 60_000 / 30 / 8 // an encoder sending 60 kbit/s of a 340 kbit/s budget
    const taken: (number | null)[] = []
    for (let i = 0; i <= 30; i++) {
      trim.onChunk(i === 10 ? 40_000 : chunk, i === 10, BUDGET, TRIM_SETTLE_MS + (i * 1000) / 30)
      taken.push(trim.takeMeasurement())
    }
    expect(taken.slice(0, 30)).toEqual(Array<null>(30).fill(null))
    // 29 delta frames of the 30 in the window [0.5 s, 1.5 s).
    expect(taken[30]).toBeCloseTo((29 / 30) * 60_000, -1)
    expect(trim.takeMeasurement()).toBeNull()
  })

  it('starts again from the whole budget at a new size or frame rate', () => {
    const trim = new RateTrim(0)
    for (let t = 0; t <= 2 * (TRIM_SETTLE_MS + TRIM_WINDOW_MS); t += 33) trim.onChunk(2_000, false, BUDGET, t)
    expect(trim.scale).toBeLessThan(1)
    trim.reconfigured(5_000, false)
    expect(trim.scale).toBeLessThan(1)
    trim.reconfigured(6_000, true)
    expect(trim.scale).toBe(1)
  })
})
