import { describe, expect, it } from 'vitest'
import {
  CAMERA_WHILE_SHARING_BPS,
  FramePacer,
  fitScreen,
  SCREEN_BITS_PER_PIXEL,
  SCREEN_MAX_BPS,
  SCREEN_MIN_BPS,
  screenSettings,
  splitSendTarget,
} from './screenShare'
import { videoBudget, AUDIO_RESERVE_BPS } from './sendLadder'

describe('fitScreen', () => {
  it.each<[number, number, number, number]>([
    [1920, 1080, 1920, 1080],
    [1280, 720, 1280, 720],
    [3840, 2160, 1920, 1080],
    // Wider than 16:9 (an ultrawide monitor): the width limits.
    [3440, 1440, 1920, 804],
    // Taller (a portrait window): the height limits.
    [1200, 1920, 676, 1080],
    // Odd sizes (a window) become even for 4:2:0.
    [801, 601, 802, 602],
  ])('%dx%d → %dx%d', (w, h, width, height) => {
    expect(fitScreen(w, h)).toEqual({ width, height })
  })
})

describe('screenSettings', () => {
  it.each<[string, number, number, number, ReturnType<typeof screenSettings>]>([
    // 2.5 Mbit/s over 1920x1080 at 0.15 bit/pixel buys 8 fps.
    [
      '1080p on a good link',
      1920,
      1080,
      5_000_000,
      { width: 1920, height: 1080, fps: 8, bitrateBps: SCREEN_MAX_BPS },
    ],
    [
      '720p on a good link: 15 fps',
      1280,
      720,
      5_000_000,
      { width: 1280, height: 720, fps: 15, bitrateBps: SCREEN_MAX_BPS },
    ],
    [
      '1080p on 1 Mbit/s: the frame rate goes first, to 6 fps',
      1920,
      1080,
      1_000_000,
      { width: 1920, height: 1080, fps: 6, bitrateBps: 1_000_000 },
    ],
    // At 6 fps 400 kbit/s is 0.032 bit/pixel at 1080p: two thirds (1280x720) gives 0.072.
    [
      '1080p on 400 kbit/s: smaller',
      1920,
      1080,
      400_000,
      { width: 1280, height: 720, fps: 6, bitrateBps: 400_000 },
    ],
    [
      'never under the least bitrate, at the smallest step',
      1920,
      1080,
      1_000,
      { width: 640, height: 360, fps: 6, bitrateBps: SCREEN_MIN_BPS },
    ],
  ])('%s', (_name, w, h, bps, expected) => {
    expect(screenSettings(w, h, bps)).toEqual(expected)
  })

  it('sends more bits per pixel than the camera at its best (1 Mbit/s at 640x360, 30 fps)', () => {
    const camera = 1_000_000 / (640 * 360 * 30)
    for (const [w, h] of [
      [1920, 1080],
      [1280, 720],
    ] as const) {
      const s = screenSettings(w, h, 5_000_000)
      expect(s.bitrateBps / (s.width * s.height * s.fps)).toBeGreaterThan(camera)
    }
    expect(SCREEN_BITS_PER_PIXEL).toBeGreaterThan(camera)
  })
})

describe('splitSendTarget', () => {
  const target = (bitrateBps: number) => ({ bitrateBps, lossFraction: 0.01, rttMs: 40 })

  it('not sharing: the camera gets the target as it is', () => {
    expect(splitSendTarget(target(800_000), false)).toEqual({ screenBps: null, camera: target(800_000) })
  })

  it('screen first: the share takes the budget, the camera keeps its share minimum', () => {
    const { screenBps, camera } = splitSendTarget(target(2_000_000), true)
    expect(screenBps).toBeGreaterThan(1_700_000)
    // The camera's own ladder, given its part, ends up with about the minimum kept for it.
    const cameraVideo = videoBudget(camera.bitrateBps, AUDIO_RESERVE_BPS, 15)
    expect(cameraVideo).toBeGreaterThan(CAMERA_WHILE_SHARING_BPS * 0.9)
    expect(cameraVideo).toBeLessThan(CAMERA_WHILE_SHARING_BPS * 1.1)
    expect(camera.lossFraction).toBe(0.01)
    expect(camera.rttMs).toBe(40)
  })

  it('the share is capped; the rest goes to the camera', () => {
    const { screenBps, camera } = splitSendTarget(target(5_000_000), true)
    expect(screenBps).toBe(SCREEN_MAX_BPS)
    expect(camera.bitrateBps).toBeGreaterThan(2_300_000)
  })

  it('a budget too small for both: the share takes it all, the camera falls to its least', () => {
    const { screenBps, camera } = splitSendTarget(target(300_000), true)
    expect(screenBps).toBeGreaterThan(200_000)
    expect(videoBudget(camera.bitrateBps, AUDIO_RESERVE_BPS, 15)).toBeLessThan(30_000)
  })

  it('the parts never add up to more than the target (within rounding)', () => {
    for (let bps = 50_000; bps <= 8_000_000; bps += 50_000) {
      const { screenBps, camera } = splitSendTarget(target(bps), true)
      expect(screenBps).not.toBeNull()
      if (bps > 400_000) expect(screenBps! + camera.bitrateBps).toBeLessThanOrEqual(bps)
      expect(camera.bitrateBps).toBeGreaterThan(0)
    }
  })
})

describe('FramePacer', () => {
  /** The frames kept of a capture at `sourceFps` for `seconds`, with `jitterMs` alternating ±. */
  function kept(fps: number, sourceFps: number, seconds: number, jitterMs = 0, drop = (_i: number) => false) {
    const pacer = new FramePacer(sourceFps)
    let count = 0
    for (let i = 0; i < seconds * sourceFps; i++) {
      if (drop(i)) continue
      const t = Math.round((i * 1_000_000) / sourceFps + (i % 2 ? jitterMs : -jitterMs) * 1000)
      if (pacer.take(Math.max(0, t), fps)) count++
    }
    return count / seconds
  }

  it.each<[string, number, number, number, ((i: number) => boolean) | undefined, number]>([
    ['15 fps capture at 5', 5, 15, 0, undefined, 5],
    ['15 fps capture at 5, ±10 ms jitter', 5, 15, 10, undefined, 5],
    ['15 fps capture at 8', 8, 15, 0, undefined, 8],
    ['15 fps capture at 15', 15, 15, 3, undefined, 15],
    // Every fifth capture frame lost (a loaded machine): the next one makes up the slot.
    ['15 fps capture with losses at 5', 5, 15, 0, (i: number) => i % 5 === 3, 5],
    ['30 fps capture at 5', 5, 30, 4, undefined, 5],
  ])('%s', (_name, fps, sourceFps, jitter, drop, expected) => {
    expect(kept(fps, sourceFps, 20, jitter, drop)).toBeCloseTo(expected, 0)
  })

  it('a stalled capture does not bring a burst afterwards', () => {
    const pacer = new FramePacer(15)
    expect(pacer.take(0, 5)).toBe(true)
    // Two seconds without a frame, then 15 fps again: one frame, then every 200 ms.
    const taken = [2_000_000, 2_066_667, 2_133_333, 2_200_000].map((t) => pacer.take(t, 5))
    expect(taken).toEqual([true, false, false, true])
  })
})
