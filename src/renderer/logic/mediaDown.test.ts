import { describe, expect, it } from 'vitest'
import { parseMediaDown } from './mediaDown'

const data = new ArrayBuffer(8)

describe('parseMediaDown', () => {
  it.each([
    [{ kind: 'keyFrameRequested' }, { kind: 'keyFrameRequested' }],
    [
      { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: 0.02, rttMs: 40 },
      { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: 0.02, rttMs: 40 },
    ],
    [
      { kind: 'sendTarget', bitrateBps: 150_000, lossFraction: 0, extra: 1 },
      { kind: 'sendTarget', bitrateBps: 150_000, lossFraction: 0 },
    ],
    [
      { kind: 'sendTarget', bitrateBps: 1, lossFraction: 1, rttMs: 0 },
      { kind: 'sendTarget', bitrateBps: 1, lossFraction: 1, rttMs: 0 },
    ],
    [
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: true },
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: true },
    ],
    [
      { kind: 'remoteAudio', uid: 7, data, timestampUs: 0 },
      { kind: 'remoteAudio', uid: 7, data, timestampUs: 0 },
    ],
    // A screen share's frames and key frame requests say so; `camera` or anything else is the camera.
    [
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: false, track: 'screen' },
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: false, track: 'screen' },
    ],
    [
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: false, track: 'camera' },
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: false },
    ],
    [
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: false, track: 'tv' },
      { kind: 'remoteVideo', uid: 7, data, timestampUs: 10, keyFrame: false },
    ],
    [
      { kind: 'keyFrameRequested', track: 'screen' },
      { kind: 'keyFrameRequested', track: 'screen' },
    ],
    [{ kind: 'keyFrameRequested', track: 'camera' }, { kind: 'keyFrameRequested' }],
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
    { kind: 'sendTarget', lossFraction: 0 },
    { kind: 'sendTarget', bitrateBps: 0, lossFraction: 0 },
    { kind: 'sendTarget', bitrateBps: -5, lossFraction: 0 },
    { kind: 'sendTarget', bitrateBps: Number.POSITIVE_INFINITY, lossFraction: 0 },
    { kind: 'sendTarget', bitrateBps: Number.NaN, lossFraction: 0 },
    { kind: 'sendTarget', bitrateBps: '400000', lossFraction: 0 },
    { kind: 'sendTarget', bitrateBps: 400_000 },
    { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: -0.1 },
    { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: 1.5 },
    { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: Number.NaN },
    { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: 0, rttMs: -1 },
    { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: 0, rttMs: Number.NaN },
    { kind: 'sendTarget', bitrateBps: 400_000, lossFraction: 0, rttMs: '40' },
  ])('drops %o', (input) => {
    expect(parseMediaDown(input)).toBeNull()
  })
})
