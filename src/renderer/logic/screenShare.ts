/**
 * What the screen-share encoder runs at, and how one send target is split between a screen share and the
 * camera (docs/media.md "Screen sharing"). Pure: the senders pass the numbers in.
 */
import type { SendTarget } from '../../shared/mediaPort'
import {
  AUDIO_PACKETS_PER_SECOND,
  AUDIO_RESERVE_BPS,
  PACKET_OVERHEAD_BYTES,
  VIDEO_PAYLOAD_BYTES,
  type EncoderSettings,
} from './sendLadder'

/** The largest picture a share is sent at; a bigger source is scaled down to fit, keeping its aspect. */
export const SCREEN_MAX_WIDTH = 1920
export const SCREEN_MAX_HEIGHT = 1080
/**
 * Screens change little between frames and need sharp text more than motion: 6–15 fps. Below 5 fps a
 * cursor or a scrolled page looks broken, and the floor is one frame above that so a receiver that loses
 * or drops a frame now and then still shows at least 5; above 15 the bits go to motion nobody reads.
 */
export const SCREEN_MIN_FPS = 6
export const SCREEN_MAX_FPS = 15
/**
 * Bits per pixel per frame the share aims at before it gives up frame rate: 0.15, above the camera's
 * 0.11–0.14 (731 kbit/s–1 Mbit/s at 640x360, 30 fps). Text has hard edges that VP8 smears into ringing at
 * the camera's rate, and a share's key frames (every slide change is nearly one) must arrive sharp.
 */
export const SCREEN_BITS_PER_PIXEL = 0.15
/** Under this at 5 fps the picture is made smaller instead: small text readable beats large text blurred. */
export const SCREEN_MIN_BITS_PER_PIXEL = 0.05
/** The sizes a share steps down through (of the fitted size): few steps, since each costs a key frame. */
export const SCREEN_SCALES = [1, 2 / 3, 1 / 2, 1 / 3] as const
/** 1920x1080 at 15 fps and 0.15 bit/pixel would be 4.7 Mbit/s; a share is worth no more than this. */
export const SCREEN_MAX_BPS = 2_500_000
/** The encoder is never asked for less. */
export const SCREEN_MIN_BPS = 100_000
/** While sharing, the camera keeps this much when the budget has more than the share's least. */
export const CAMERA_WHILE_SHARING_BPS = 150_000
/** Until the engine sends a target. */
export const DEFAULT_SCREEN_BPS = 1_200_000

const even = (value: number): number => Math.max(2, 2 * Math.round(value / 2))

/** The source's size scaled down (never up) to fit 1920x1080, aspect kept, even sides (VP8's 4:2:0). */
export function fitScreen(width: number, height: number): { width: number; height: number } {
  if (width <= 0 || height <= 0) return { width: SCREEN_MAX_WIDTH, height: SCREEN_MAX_HEIGHT }
  const scale = Math.min(1, SCREEN_MAX_WIDTH / width, SCREEN_MAX_HEIGHT / height)
  return { width: even(width * scale), height: even(height * scale) }
}

/**
 * The encoder's settings for a source of `width`x`height` and a video budget of `bitrateBps`: the frame
 * rate the budget buys at SCREEN_BITS_PER_PIXEL, 5–15 fps; below 5 fps at SCREEN_MIN_BITS_PER_PIXEL, the
 * next smaller of SCREEN_SCALES that reaches it (the smallest when none does).
 */
export function screenSettings(width: number, height: number, bitrateBps: number): EncoderSettings {
  const fitted = fitScreen(width, height)
  const bitrate = Math.round(Math.min(SCREEN_MAX_BPS, Math.max(SCREEN_MIN_BPS, bitrateBps)))
  const pixels = fitted.width * fitted.height
  const scale =
    SCREEN_SCALES.find((s) => bitrate / (pixels * s * s * SCREEN_MIN_FPS) >= SCREEN_MIN_BITS_PER_PIXEL) ??
    SCREEN_SCALES[SCREEN_SCALES.length - 1]!
  const size = { width: even(fitted.width * scale), height: even(fitted.height * scale) }
  const fps = Math.floor(bitrate / (size.width * size.height * SCREEN_BITS_PER_PIXEL))
  return { ...size, fps: Math.min(SCREEN_MAX_FPS, Math.max(SCREEN_MIN_FPS, fps)), bitrateBps: bitrate }
}

/** What a video of `payloadBps` at `fps` costs on the wire in the engine's units (its packets' overhead). */
function onWire(payloadBps: number, fps: number): number {
  const overhead = PACKET_OVERHEAD_BYTES * 8
  return payloadBps * (1 + PACKET_OVERHEAD_BYTES / VIDEO_PAYLOAD_BYTES) + fps * overhead
}

export interface SplitTarget {
  /** The screen encoder's video bitrate; null when not sharing. */
  screenBps: number | null
  /** What the camera's sender (and its ladder, which takes audio off the top itself) is given. */
  camera: SendTarget
}

/**
 * One send target (the whole media budget) split between a screen share and the camera, screen first: audio
 * comes off the top as the camera's ladder counts it, then the share takes what the budget allows up to
 * SCREEN_MAX_BPS while leaving the camera CAMERA_WHILE_SHARING_BPS (or takes all of it, down to its least,
 * on a budget too small for both), and the camera gets the target minus what the share costs on the wire.
 * Not sharing: the camera gets the target unchanged.
 */
export function splitSendTarget(
  target: SendTarget,
  sharing: boolean,
  screenFps = SCREEN_MAX_FPS,
): SplitTarget {
  if (!sharing) return { screenBps: null, camera: target }
  const audio = AUDIO_RESERVE_BPS + AUDIO_PACKETS_PER_SECOND * PACKET_OVERHEAD_BYTES * 8
  const video =
    (target.bitrateBps - audio - screenFps * PACKET_OVERHEAD_BYTES * 8) /
    (1 + PACKET_OVERHEAD_BYTES / VIDEO_PAYLOAD_BYTES)
  const withCamera = video - onWire(CAMERA_WHILE_SHARING_BPS, 15)
  const screen = Math.round(
    Math.min(SCREEN_MAX_BPS, Math.max(SCREEN_MIN_BPS, withCamera >= SCREEN_MIN_BPS ? withCamera : video)),
  )
  const camera = Math.max(1, Math.round(target.bitrateBps - onWire(screen, screenFps)))
  return { screenBps: screen, camera: { ...target, bitrateBps: camera } }
}

/**
 * Which captured frames are encoded at `fps`: a schedule of due times one interval apart, a frame taken when
 * it is due or at most half a source interval early, and the next due time counted from the schedule, not
 * from the frame. A 15 fps capture thinned to 5 then keeps every third frame, and a late or missing capture
 * frame is made up by the next one instead of losing a slot: the rate sent stays at `fps`, where "at least
 * ¾ of an interval since the last frame" (the camera's keepFrame) falls below it whenever capture jitters.
 */
export class FramePacer {
  private dueUs: number | null = null

  constructor(private readonly sourceFps = SCREEN_MAX_FPS) {}

  /** Whether the frame captured at `timestampUs` is encoded (then counted as taken). */
  take(timestampUs: number, fps: number): boolean {
    const early = 1_000_000 / this.sourceFps / 2
    if (this.dueUs !== null && timestampUs < this.dueUs - early) return false
    this.took(timestampUs, fps)
    return true
  }

  /** A frame was encoded at `timestampUs` (a repeated one too): the next is due one interval on. */
  took(timestampUs: number, fps: number): void {
    const interval = 1_000_000 / fps
    const next = (this.dueUs ?? timestampUs) + interval
    // More than an interval behind (capture stalled, or the rate went up): start the schedule again here.
    this.dueUs = next < timestampUs ? timestampUs + interval : next
  }
}
