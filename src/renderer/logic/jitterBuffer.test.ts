import { describe, expect, it } from 'vitest'
import { JitterBuffer, rms } from './jitterBuffer'

const ramp = (from: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i)

describe('JitterBuffer', () => {
  it('plays silence until the target is buffered, then the samples in order', () => {
    const buffer = new JitterBuffer({ targetSamples: 4, maxSamples: 16 })
    const out = new Float32Array(3)
    buffer.push(ramp(1, 3))
    expect(buffer.pull(out)).toBe(0)
    expect([...out]).toEqual([0, 0, 0])
    buffer.push(ramp(4, 3))
    expect(buffer.pull(out)).toBe(3)
    expect([...out]).toEqual([1, 2, 3])
    expect(buffer.pull(out)).toBe(3)
    expect([...out]).toEqual([4, 5, 6])
  })

  it('counts an underrun, pads with silence and waits for the target again', () => {
    const buffer = new JitterBuffer({ targetSamples: 2, maxSamples: 8 })
    buffer.push(ramp(1, 3))
    const out = new Float32Array(4)
    expect(buffer.pull(out)).toBe(3)
    expect([...out]).toEqual([1, 2, 3, 0])
    expect(buffer.stats()).toMatchObject({ underruns: 1, playing: false })
    buffer.push(ramp(9, 1))
    expect(buffer.pull(out)).toBe(0)
  })

  it('drops the oldest samples down to the target when a burst overflows', () => {
    const buffer = new JitterBuffer({ targetSamples: 4, maxSamples: 8 })
    buffer.push(ramp(1, 6))
    buffer.push(ramp(7, 4))
    const stats = buffer.stats()
    expect(stats.bufferedSamples).toBe(4)
    expect(stats.droppedSamples).toBe(6)
    const out = new Float32Array(4)
    buffer.pull(out)
    expect([...out]).toEqual([7, 8, 9, 10])
  })

  it('wraps around the ring', () => {
    const buffer = new JitterBuffer({ targetSamples: 1, maxSamples: 5 })
    const out = new Float32Array(3)
    for (let round = 0; round < 4; round++) {
      buffer.push(ramp(round * 3, 3))
      buffer.pull(out)
      expect([...out]).toEqual([round * 3, round * 3 + 1, round * 3 + 2])
    }
  })

  it('adapts: each underrun raises the target a step, up to its ceiling; a steady stretch lowers it', () => {
    const adapt = { stepSamples: 4, maxTargetSamples: 10, relaxAfterSamples: 12 }
    const buffer = new JitterBuffer({ targetSamples: 2, maxSamples: 16, adapt })
    const out = new Float32Array(4)
    const targets: number[] = []
    // Each time: as much as the target, then pulled until the buffer runs dry (an underrun).
    for (const size of [2, 6, 10]) {
      buffer.push(ramp(1, size))
      for (let pulled = 0; pulled <= size; pulled += 4) buffer.pull(out)
      targets.push(buffer.stats().targetSamples)
    }
    expect(targets).toEqual([6, 10, 10])
    expect(buffer.stats().underruns).toBe(3)
    // Playing steadily: every 12 samples the target comes down half a step, never under the start.
    buffer.push(ramp(1, 16))
    const relaxed: number[] = []
    for (let i = 0; i < 3; i++) {
      buffer.pull(out)
      relaxed.push(buffer.stats().targetSamples)
    }
    expect(relaxed).toEqual([10, 10, 8])
  })

  it('without adapt the target stays where it was set', () => {
    const buffer = new JitterBuffer({ targetSamples: 2, maxSamples: 8 })
    buffer.push(ramp(1, 2))
    buffer.pull(new Float32Array(4))
    expect(buffer.stats()).toMatchObject({ underruns: 1, targetSamples: 2 })
  })

  it('refuses a target above the maximum', () => {
    expect(() => new JitterBuffer({ targetSamples: 10, maxSamples: 5 })).toThrow(RangeError)
  })
})

describe('rms', () => {
  it.each([
    [new Float32Array([]), 0],
    [new Float32Array([0, 0]), 0],
    [new Float32Array([0.5, -0.5]), 0.5],
  ])('%o → %d', (samples, expected) => {
    expect(rms(samples)).toBeCloseTo(expected)
  })
})
