import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseMediaUp } from './mediaPort'
import { decodeMediaMessage, encodeMediaMessage } from './mediaWire'

describe('media over the browser host’s WebSocket', () => {
  it('round-trips a MediaUp into something parseMediaUp accepts, data in its own buffer', () => {
    const data = new Uint8Array([1, 2, 3]).buffer
    const bytes = encodeMediaMessage({ kind: 'video', data, timestampUs: 5, keyFrame: true })
    const decoded = decodeMediaMessage(bytes)
    expect(parseMediaUp(decoded)).toEqual({
      kind: 'video',
      data: new Uint8Array([1, 2, 3]).buffer,
      timestampUs: 5,
      keyFrame: true,
    })
    expect((decoded?.['data'] as ArrayBuffer).byteLength).toBe(3)
  })

  it('a message without data round-trips (keyFrameRequested)', () => {
    expect(decodeMediaMessage(encodeMediaMessage({ kind: 'keyFrameRequested' }))).toEqual({
      kind: 'keyFrameRequested',
    })
  })

  it.each([
    ['too short', new Uint8Array([0, 0])],
    ['a header longer than the message', new Uint8Array([0, 0, 0, 9, 123])],
    ['a header that is not JSON', new Uint8Array([0, 0, 0, 1, 0x7b])],
    ['a header that is not an object', new Uint8Array([0, 0, 0, 1, 0x31])],
  ])('%s → null', (_what, bytes) => {
    expect(decodeMediaMessage(bytes)).toBeNull()
  })

  it('any bytes: no throw, null or an object', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const out = decodeMediaMessage(bytes)
        expect(out === null || typeof out === 'object').toBe(true)
      }),
    )
  })
})
