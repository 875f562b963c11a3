import { describe, expect, it } from 'vitest'
import { LEVEL_WINDOW_MS, LevelMeter } from './audioLevel'

const RATE = 48_000
const WINDOW = (RATE * LEVEL_WINDOW_MS) / 1000

function sine(amplitude: number, hz: number, count: number, from = 0): Float32Array {
  return Float32Array.from(
    { length: count },
    (_, i) => amplitude * Math.sin((2 * Math.PI * hz * (from + i)) / RATE),
  )
}

describe('LevelMeter', () => {
  it('measures 100 ms windows at 48 kHz: a sine of amplitude a has RMS a/√2', () => {
    const meter = LevelMeter.forRate(RATE)
    expect(meter.push(sine(0.5, 440, WINDOW))).toBe(1)
    expect(meter.level).toBeCloseTo(0.5 / Math.SQRT2, 4)
  })

  it('gives nothing before the first window is complete, and 0 for silence', () => {
    const meter = LevelMeter.forRate(RATE)
    expect(meter.push(sine(0.5, 440, WINDOW - 1))).toBe(0)
    expect(meter.level).toBe(0)
    expect(meter.push(new Float32Array(1 + WINDOW))).toBe(2)
    expect(meter.level).toBe(0)
  })

  it('windows do not depend on how the samples are cut into blocks (128-sample worklet quanta)', () => {
    const whole = LevelMeter.forRate(RATE)
    const quanta = LevelMeter.forRate(RATE)
    const signal = Float32Array.from({ length: 3 * WINDOW }, (_, i) =>
      i < WINDOW ? 0.1 : i < 2 * WINDOW ? 0.4 : 0.2,
    )
    const levels: number[] = []
    for (let at = 0; at < signal.length; at += 128) {
      if (quanta.push(signal.subarray(at, at + 128)) > 0) levels.push(quanta.level)
    }
    expect(levels.map((l) => Math.round(l * 1000) / 1000)).toEqual([0.1, 0.4, 0.2])
    expect(whole.push(signal)).toBe(3)
    expect(whole.level).toBeCloseTo(quanta.level, 6)
  })

  it('follows speech within a window: a talker starting is seen in the next level, stopping in the one after', () => {
    const meter = LevelMeter.forRate(RATE)
    meter.push(new Float32Array(WINDOW))
    expect(meter.level).toBe(0)
    meter.push(sine(0.3, 220, WINDOW))
    expect(meter.level).toBeGreaterThan(0.2)
    meter.push(new Float32Array(WINDOW))
    expect(meter.level).toBe(0)
  })

  it('is 0..1: a clipped full-scale square reads 1, and reset forgets the last window', () => {
    const meter = new LevelMeter(4)
    meter.push(Float32Array.from([1.5, -1.5, 1.5, -1.5]))
    expect(meter.level).toBe(1)
    meter.push(Float32Array.from([0.5, 0.5]))
    meter.reset()
    expect(meter.level).toBe(0)
    meter.push(Float32Array.from([0.5, 0.5]))
    expect(meter.push(Float32Array.from([0.5, 0.5]))).toBe(1)
    expect(meter.level).toBe(0.5)
  })

  it('refuses an empty window', () => {
    expect(() => new LevelMeter(0)).toThrow(RangeError)
  })
})
