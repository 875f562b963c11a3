import { describe, expect, it } from 'vitest'
import { parseMediaDown } from './mediaDown'

const data = new ArrayBuffer(8)

describe('parseMediaDown', () => {
  it.each([
    [{ kind: 'keyFrameRequested' }, { kind: 'keyFrameRequested' }],
    [
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: true },
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: true },
    ],
    [
      { kind: 'remoteAudio', uid: 7, data, timestampUs: 0 },
      { kind: 'remoteAudio', uid: 7, data, timestampUs: 0 },
    ],
  ])('accepts %o', (input, expected) => {
    expect(parseMediaDown(input)).toEqual(expected)
  })

  it.each([
    null,
    'x',
    {},
    { kind: 'remoteVideo', uid: 7, data, timestampUs: 10 },
    { kind: 'remoteVideo', uid: -1, data, timestampUs: 10, keyFrame: true },
    { kind: 'remoteAudio', uid: 7, data: new ArrayBuffer(0), timestampUs: 0 },
    { kind: 'remoteAudio', uid: 7, data: new Uint8Array(4), timestampUs: 0 },
    { kind: 'remoteAudio', uid: 7, data, timestampUs: Number.NaN },
    { kind: 'other', uid: 7, data, timestampUs: 0 },
  ])('drops %o', (input) => {
    expect(parseMediaDown(input)).toBeNull()
  })
})
