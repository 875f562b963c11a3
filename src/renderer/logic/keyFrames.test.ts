import { describe, expect, it } from 'vitest'
import { KEY_FRAME_INTERVAL_MS, KeyFrames, MAX_FORCED_KEY_GAP_MS, MIN_FORCED_KEY_GAP_MS } from './keyFrames'

/** Encodes a frame every 33 ms from `from` to `to`, with requests at the given times; the key frames' times. */
function run(requests: number[], to: number, from = 0): number[] {
  const keys = new KeyFrames()
  const pending = [...requests]
  const sent: number[] = []
  for (let t = from; t <= to; t += 33) {
    while (pending.length > 0 && pending[0]! <= t) {
      pending.shift()
      keys.request()
    }
    if (keys.due(t)) {
      keys.sent(t)
      sent.push(t)
    }
  }
  return sent
}

describe('KeyFrames', () => {
  it.each<[string, number[], number, number[]]>([
    ['nobody asks: at start and every interval', [], 25_000, [0, 10_032, 20_064]],
    ['a request long after the last key frame is served at the next frame', [5_000], 6_000, [0, 5_016]],
    [
      'a burst of requests between two frames: one key frame',
      [5_000, 5_001, 5_002, 5_010, 5_015],
      6_000,
      [0, 5_016],
    ],
    [
      'requests every 100 ms for 1.2 s: one key frame per gap, not twelve',
      [5_000, 5_100, 5_200, 5_300, 5_400, 5_500, 5_600, 5_700, 5_800, 5_900, 6_000, 6_100],
      6_500,
      [0, 5_016, 5_445, 5_874, 6_303],
    ],
    ['a request inside the gap is served when it ends, not dropped', [100], 1_000, [0, 429]],
    ['a requested key frame restarts the interval', [5_000], 16_000, [0, 5_016, 15_048]],
  ])('%s', (_what, requests, to, keys) => {
    expect(run(requests, to)).toEqual(keys)
  })

  it('a key frame the encoder made itself (a new size) answers the requests made before it', () => {
    const keys = new KeyFrames()
    keys.sent(0)
    keys.request()
    keys.sent(1_000) // a resize: the encoder's own key frame comes out
    expect(keys.due(1_000 + MIN_FORCED_KEY_GAP_MS)).toBe(false)
    expect(keys.due(1_000 + KEY_FRAME_INTERVAL_MS)).toBe(true)
  })
})

describe('KeyFrames on a slow link: requested key frames take at most half the video bitrate', () => {
  /** A frame every 33 ms, a request before every frame; key frames of `keyBytes` at `bitrateBps`. */
  function asked(bitrateBps: number, keyBytes: number, to: number): number[] {
    const keys = new KeyFrames()
    const sent: number[] = []
    for (let t = 0; t <= to; t += 33) {
      keys.request()
      if (keys.due(t, bitrateBps)) {
        keys.sent(t)
        keys.keyFrameBytes(keyBytes)
        sent.push(t)
      }
    }
    return sent
  }

  it('10 kB key frames at 200 kbit/s: one per 800 ms, not one per 400 ms', () => {
    expect(asked(200_000, 10_000, 3_000)).toEqual([0, 825, 1650, 2475])
  })

  it('8 kB at 150 kbit/s: one per 853 ms', () => {
    expect(asked(150_000, 8_000, 2_000)).toEqual([0, 858, 1716])
  })

  it('at 1 Mbit/s the shortest gap stands (10 kB is 160 ms of half of it)', () => {
    expect(asked(1_000_000, 10_000, 1_000)).toEqual([0, 429, 858])
  })

  it('never longer than MAX_FORCED_KEY_GAP_MS, however large the key frame', () => {
    expect(asked(100_000, 40_000, 3_000)).toEqual([0, 1023, 2046])
    expect(MAX_FORCED_KEY_GAP_MS).toBe(1_000)
  })
})

describe('KeyFrames for a new source (another camera)', () => {
  it('is a key frame at the next frame even just after one, where a request waits for the gap', () => {
    const asked = new KeyFrames()
    const switched = new KeyFrames()
    for (const keys of [asked, switched]) {
      keys.sent(0)
      keys.keyFrameBytes(20_000)
    }
    asked.request()
    switched.requestNow()
    expect(asked.due(100, 300_000)).toBe(false)
    expect(switched.due(100, 300_000)).toBe(true)
    switched.sent(100)
    // Served: the next frames are deltas again, and later requests keep their gap from this key frame.
    expect(switched.due(133, 300_000)).toBe(false)
    switched.request()
    expect(switched.due(100 + MIN_FORCED_KEY_GAP_MS - 1, 300_000)).toBe(false)
    expect(switched.due(100 + MAX_FORCED_KEY_GAP_MS, 300_000)).toBe(true)
  })
})
