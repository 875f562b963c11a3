import { describe, expect, it } from 'vitest'
import { isBt601Yuv, rgbaToI420 } from './bt601'

type Rgb = [number, number, number]

/** ITU-R BT.601 limited range back to RGB, in floating point: an independent check of the fixed point. */
function toRgb(y: number, cb: number, cr: number): Rgb {
  const l = (y - 16) * (255 / 219)
  const u = (cb - 128) * (255 / 224)
  const v = (cr - 128) * (255 / 224)
  return [l + 1.402 * v, l - 0.344136 * u - 0.714136 * v, l + 1.772 * u]
}

/** A 4x2 image: its left 2x2 block one colour, its right block another. */
function twoBlocks(left: Rgb, right: Rgb): number[] {
  const row = [...left, 255, ...left, 255, ...right, 255, ...right, 255]
  return [...row, ...row]
}

describe('rgbaToI420 (BT.601 limited range)', () => {
  it('puts black and white at the ends of the limited range with neutral chroma', () => {
    const planes = rgbaToI420(twoBlocks([0, 0, 0], [255, 255, 255]), 4, 2)
    expect([...planes]).toEqual([16, 16, 235, 235, 16, 16, 235, 235, 128, 128, 128, 128])
  })

  it('gives back the colour bars (75 % and full) within one step per channel', () => {
    const bars: Rgb[] = [
      [191, 191, 191],
      [191, 191, 0],
      [0, 191, 191],
      [0, 191, 0],
      [191, 0, 191],
      [191, 0, 0],
      [0, 0, 191],
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [12, 200, 90],
    ]
    for (const bar of bars) {
      const planes = rgbaToI420(twoBlocks(bar, [0, 0, 0]), 4, 2)
      const [y = NaN, cb = NaN, cr = NaN] = [planes[0], planes[8], planes[10]]
      expect(planes[1]).toBe(y)
      const back = toRgb(y, cb, cr).map((c) => Math.min(255, Math.max(0, Math.round(c))))
      const worst = Math.max(...back.map((c, i) => Math.abs(c - (bar[i] ?? NaN))))
      expect(worst, `${bar.join(',')} → ${back.join(',')}`).toBeLessThanOrEqual(2)
    }
  })

  it('lays the planes out Y, Cb, Cr with the mean of each 2x2 block as its chroma', () => {
    const planes = rgbaToI420(twoBlocks([0, 0, 255], [255, 0, 0]), 4, 2)
    expect(planes.length).toBe(4 * 2 + 2 + 2)
    expect([...planes.slice(8)]).toEqual([240, 90, 110, 240])
  })
})

describe('isBt601Yuv', () => {
  it('takes BT.601 or unlabelled limited-range 4:2:0 YUV as it is', () => {
    expect(isBt601Yuv('I420', { matrix: null, fullRange: null })).toBe(true)
    expect(isBt601Yuv('NV12', { matrix: 'smpte170m', fullRange: false })).toBe(true)
    expect(isBt601Yuv('I420A', { matrix: 'bt470bg' })).toBe(true)
  })

  it('sends BT.709, full range, RGB and opaque frames through the conversion', () => {
    expect(isBt601Yuv('NV12', { matrix: 'bt709', fullRange: false })).toBe(false)
    expect(isBt601Yuv('I420', { matrix: 'smpte170m', fullRange: true })).toBe(false)
    expect(isBt601Yuv('BGRA', { matrix: 'rgb', fullRange: true })).toBe(false)
    expect(isBt601Yuv('I444', { matrix: null })).toBe(false)
    expect(isBt601Yuv(null, { matrix: null })).toBe(false)
  })
})
