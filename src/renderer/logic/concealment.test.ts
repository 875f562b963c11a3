import { describe, expect, it } from 'vitest'
import { Concealer } from './concealment'
import { rms } from './jitterBuffer'

const RATE = 48_000
const FRAME = 960 // 20 ms
const FRAME_US = 20_000

/** A 440 Hz tone (amplitude 0.5), samples [from, from + n) of one continuous signal. */
const tone = (from: number, n: number, amplitude = 0.5): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * 440 * (from + i)) / RATE))

const frameAt = (index: number, amplitude = 0.5): Float32Array => tone(index * FRAME, FRAME, amplitude)

const concat = (blocks: Float32Array[]): Float32Array => {
  const out = new Float32Array(blocks.reduce((n, b) => n + b.length, 0))
  let at = 0
  for (const b of blocks) {
    out.set(b, at)
    at += b.length
  }
  return out
}

/** Plays frames 0..4, loses the ones in `lost`, plays up to `last`; returns everything buffered. */
function playWithLoss(concealer: Concealer, lost: number[], last: number, amplitude = 0.5): Float32Array {
  const played: Float32Array[] = []
  for (let i = 0; i <= last; i++) {
    if (lost.includes(i)) continue
    played.push(...concealer.accept(frameAt(i, amplitude), i * FRAME_US))
  }
  return concat(played)
}

const maxStep = (samples: Float32Array): number => {
  let max = 0
  for (let i = 1; i < samples.length; i++) max = Math.max(max, Math.abs(samples[i]! - samples[i - 1]!))
  return max
}

describe('Concealer: which gaps are filled, and with what', () => {
  it.each([
    // what, frames lost, amplitude of the frames, concealed samples, silent part, long gaps
    ['no loss', [], 0.5, 0, 0, 0],
    ['one frame lost in speech', [5], 0.5, FRAME, 0, 0],
    ['two in a row', [5, 6], 0.5, 2 * FRAME, 0, 0],
    ['six in a row (120 ms): still a loss', [5, 6, 7, 8, 9, 10], 0.5, 6 * FRAME, 0, 0],
    ['seven in a row (140 ms): DTX or an outage, left alone', [5, 6, 7, 8, 9, 10, 11], 0.5, 0, 0, 1],
    ['one frame lost after quiet frames: silence', [5], 0.001, FRAME, FRAME, 0],
    [
      'a DTX pause (400 ms) after quiet frames',
      [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
      0.001,
      0,
      0,
      1,
    ],
  ])('%s', (_what, lost, amplitude, concealed, silent, longGaps) => {
    const concealer = new Concealer({ sampleRate: RATE })
    const last = 30
    const out = playWithLoss(concealer, lost, last, amplitude)
    const stats = concealer.stats()
    expect(stats.concealedSamples).toBe(concealed)
    expect(stats.silentConcealedSamples).toBe(silent)
    expect(stats.longGaps).toBe(longGaps)
    expect(stats.receivedSamples).toBe((last + 1 - lost.length) * FRAME)
    // The timeline is kept whenever the gap was filled: as many samples as frames sent.
    expect(out.length).toBe(stats.receivedSamples + stats.concealedSamples)
  })

  it('a lost frame in a tone is filled with the tone continuing, not silence', () => {
    const out = playWithLoss(new Concealer({ sampleRate: RATE }), [5], 9)
    const fill = out.subarray(5 * FRAME, 6 * FRAME)
    const truth = frameAt(5)
    let error = 0
    for (let i = 0; i < FRAME; i++) error += (fill[i]! - truth[i]!) ** 2
    // Held at full level for 20 ms: the fill is the lost tone, within a few percent of its energy.
    expect(Math.sqrt(error / FRAME)).toBeLessThan(0.05 * rms(truth))
    expect(rms(fill)).toBeGreaterThan(0.9 * rms(truth))
  })

  it.each([
    ['a low voice', 110, 0.3],
    ['a mid voice with two harmonics', 180, 0.5],
    ['a high voice', 330, 0],
  ])('%s (%d Hz): the fill continues it', (_what, hz, harmonic) => {
    const voice = (from: number, n: number): Float32Array =>
      Float32Array.from({ length: n }, (_, i) => {
        const t = (2 * Math.PI * hz * (from + i)) / RATE
        return 0.4 * Math.sin(t) + 0.4 * harmonic * Math.sin(2 * t + 1) + 0.2 * harmonic * Math.sin(3 * t)
      })
    const concealer = new Concealer({ sampleRate: RATE })
    for (let i = 0; i < 5; i++) concealer.accept(voice(i * FRAME, FRAME), i * FRAME_US)
    const [fill] = concealer.accept(voice(6 * FRAME, FRAME), 6 * FRAME_US)
    const truth = voice(5 * FRAME, FRAME)
    let error = 0
    for (let i = 0; i < FRAME; i++) error += (fill![i]! - truth[i]!) ** 2
    expect(Math.sqrt(error / FRAME)).toBeLessThan(0.1 * rms(truth))
  })

  it('no click where the fill starts or where the next real frame takes over', () => {
    const out = playWithLoss(new Concealer({ sampleRate: RATE }), [5, 6, 7], 10)
    // The steepest step of the clean tone is 2π·440/48000·0.5 ≈ 0.029 per sample.
    const clean = maxStep(tone(0, 10 * FRAME))
    expect(maxStep(out)).toBeLessThan(1.5 * clean)
  })

  it('a long fill fades out: full level for 20 ms, then down to nothing by 140 ms', () => {
    const concealer = new Concealer({ sampleRate: RATE, maxGapMs: 200 })
    const out = playWithLoss(concealer, [5, 6, 7, 8, 9, 10, 11, 12], 13)
    const fill = out.subarray(5 * FRAME, 13 * FRAME)
    const levels = [0, 1, 2, 3, 4, 5, 6, 7].map((f) => rms(fill.subarray(f * FRAME, (f + 1) * FRAME)))
    expect(levels[0]).toBeGreaterThan(0.3)
    for (let f = 1; f < 7; f++) expect(levels[f]).toBeLessThan(levels[f - 1]!)
    expect(levels[7]).toBe(0)
  })

  it('a frame from the past is dropped, one that overlaps is trimmed, a little jitter is no gap', () => {
    const concealer = new Concealer({ sampleRate: RATE })
    concealer.accept(frameAt(0), 0)
    concealer.accept(frameAt(1), FRAME_US)
    expect(concealer.accept(frameAt(1), FRAME_US)).toEqual([])
    const trimmed = concealer.accept(frameAt(2), 2 * FRAME_US - 10_000)
    expect(trimmed.map((b) => b.length)).toEqual([FRAME / 2])
    expect(concealer.accept(frameAt(3), 2.5 * FRAME_US + 1_000).map((b) => b.length)).toEqual([FRAME])
    expect(concealer.stats().concealedSamples).toBe(0)
  })
})

describe('Concealer.cover: an underrun mid-speech plays the continuation, not silence', () => {
  /** 128-sample render quanta of the worklet, `real` of each from the buffer. */
  const quanta = (concealer: Concealer, count: number, real = 0): Float32Array => {
    const out: Float32Array[] = []
    for (let q = 0; q < count; q++) {
      const block = new Float32Array(128)
      concealer.cover(block, real)
      out.push(block)
    }
    return concat(out)
  }

  it('continues the tone while the buffer refills, counts it, and cross-fades back into the real audio', () => {
    const concealer = new Concealer({ sampleRate: RATE })
    for (let i = 0; i < 5; i++) concealer.accept(frameAt(i), i * FRAME_US)
    // The buffer is dry for 15 quanta (40 ms): late packets, not lost ones.
    const covered = quanta(concealer, 15)
    const truth = tone(5 * FRAME, covered.length)
    let error = 0
    for (let i = 0; i < 960; i++) error += (covered[i]! - truth[i]!) ** 2
    expect(Math.sqrt(error / 960)).toBeLessThan(0.05 * rms(truth))
    expect(concealer.stats().concealedSamples).toBe(15 * 128)
    expect(concealer.stats().concealmentEvents).toBe(1)
    // A frame arrives meanwhile: remembered, but the continuation goes on from where the buffer ran dry.
    concealer.accept(frameAt(5), 5 * FRAME_US)
    const more = quanta(concealer, 1)
    // Then the buffer plays again: the real block starts from the continuation, no click.
    const real = frameAt(5).slice(0, 128)
    concealer.cover(real, 128)
    const joined = concat([covered, more, real])
    expect(maxStep(joined.subarray(0, 16 * 128))).toBeLessThan(1.5 * maxStep(tone(0, 960)))
    expect(maxStep(joined.subarray(16 * 128 - 1))).toBeLessThan(0.2)
    expect(concealer.stats().concealedSamples).toBe(16 * 128)
  })

  it('fades to silence and stops counting when the packets stay away', () => {
    const concealer = new Concealer({ sampleRate: RATE })
    for (let i = 0; i < 5; i++) concealer.accept(frameAt(i), i * FRAME_US)
    const covered = quanta(concealer, 60)
    expect(rms(covered.subarray(covered.length - 960))).toBe(0)
    expect(concealer.stats().concealedSamples).toBe(140 * 48)
  })

  it.each([
    ['before the first frame', [] as number[], 0.5],
    ['after a quiet frame (DTX)', [0, 1, 2], 0.001],
  ])('covers nothing %s', (_what, frames, amplitude) => {
    const concealer = new Concealer({ sampleRate: RATE })
    for (const i of frames) concealer.accept(frameAt(i, amplitude), i * FRAME_US)
    expect(rms(quanta(concealer, 10))).toBe(0)
    expect(concealer.stats().concealedSamples).toBe(0)
  })

  it('leaves a block the buffer filled alone', () => {
    const concealer = new Concealer({ sampleRate: RATE })
    concealer.accept(frameAt(0), 0)
    const block = frameAt(1).slice(0, 128)
    concealer.cover(block, 128)
    expect([...block]).toEqual([...frameAt(1).slice(0, 128)])
  })
})
