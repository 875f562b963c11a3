import { describe, expect, it } from 'vitest'
import { vp8KeyFrameSize } from './vp8Header'

/** A key frame's first 10 bytes: frame tag, start code, width and height words (with a scale hint). */
function keyFrame(width: number, height: number, scale = 0): Uint8Array {
  const w = width | (scale << 14)
  const h = height | (scale << 14)
  return Uint8Array.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8, 0, 0])
}

describe('vp8KeyFrameSize (RFC 6386 §9.1)', () => {
  it.each([
    { name: '640x360', frame: keyFrame(640, 360), size: { width: 640, height: 360 } },
    {
      name: '320x180 with an upscaling hint',
      frame: keyFrame(320, 180, 2),
      size: { width: 320, height: 180 },
    },
    { name: 'an inter frame', frame: Uint8Array.from([0x51, ...keyFrame(640, 360).slice(1)]), size: null },
    {
      name: 'no start code',
      frame: Uint8Array.from([0x50, 0x42, 0, 0x9d, 0x01, 0x2b, 0x80, 2, 0x68, 1]),
      size: null,
    },
    { name: 'too short', frame: keyFrame(640, 360).slice(0, 9), size: null },
    { name: 'a zero dimension', frame: keyFrame(0, 360), size: null },
  ])('$name', ({ frame, size }) => {
    expect(vp8KeyFrameSize(frame)).toEqual(size)
  })
})
