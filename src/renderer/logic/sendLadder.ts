/**
 * What the video encoder is set to for a send target (docs/media.md "Encoders that follow the target"). Pure:
 * time is passed in. The engine's target is the whole media budget; the split:
 *
 *   video = (target − audio − audio's packet overhead − fps × OVERHEAD) / (1 + OVERHEAD / PAYLOAD)
 *
 * with OVERHEAD the bytes each packet carries besides its payload and PAYLOAD the engine's VP8 payload per
 * packet: a frame of b bytes goes out in ⌈b / PAYLOAD⌉ packets, counted as b / PAYLOAD + 1.
 */

/** What the encoder runs at: one rung of the ladder and the bitrate within it. */
export interface EncoderSettings {
  width: number
  height: number
  fps: number
  bitrateBps: number
}

export interface Rung {
  width: number
  height: number
  fps: number
  /** Below this video bitrate the next rung down is taken at once. */
  minBps: number
}

/**
 * Best first. The frame rate goes first (a 15 fps picture stays sharp), then the resolution; 320x180 has no
 * floor. VP8 640x360 at 30 fps below ~250 kbit/s, or at 15 fps below ~150 kbit/s, turns blocky.
 */
export const RUNGS: readonly Rung[] = [
  { width: 640, height: 360, fps: 30, minBps: 250_000 },
  { width: 640, height: 360, fps: 15, minBps: 150_000 },
  { width: 320, height: 180, fps: 15, minBps: 0 },
]

/**
 * What the engine counts for a packet besides its payload: RTP header 12, transport-wide extension 8, SRTP
 * tag 10 (WIRE_OVERHEAD_BYTES of engine/media/sendControl.ts). The target is in the engine's units: its
 * estimator never sees the IP, UDP and TURN headers, so the estimate already leaves room for them.
 */
export const PACKET_OVERHEAD_BYTES = 30
/** The engine's VP8 RTP payload per packet (engine/media/rtp/vp8.ts). */
export const VIDEO_PAYLOAD_BYTES = 1200
/** Opus in 20 ms frames. */
export const AUDIO_PACKETS_PER_SECOND = 50
/**
 * Audio's share: the Opus encoder's highest bitrate (it goes lower only on budgets where video is already at
 * its last rung; FEC fits inside the bitrate, DTX sends less). Reserving the most keeps the sum under target.
 */
export const AUDIO_RESERVE_BPS = 32_000
/** Until the engine sends a target: what the app has always sent. */
export const DEFAULT_VIDEO_BPS = 800_000
/** VP8 at 640x360 gains little past this; a link that allows more gets a margin instead. */
export const MAX_VIDEO_BPS = 1_000_000
/** The encoder is never asked for less (even when audio takes the whole budget). */
export const MIN_VIDEO_BPS = 30_000
/** Going up a rung needs this much more than the rung's floor... */
export const UP_MARGIN = 1.3
/** ...for this long without a break: a probe's brief overshoot does not bring a key frame and a drop back. */
export const UP_HOLD_MS = 2_000
/** Smaller bitrate changes are not worth a reconfiguration. */
export const MIN_BITRATE_CHANGE = 0.05

const OVERHEAD_BITS = PACKET_OVERHEAD_BYTES * 8

/** The video payload bitrate a total budget leaves at `fps` (may be ≤ 0: audio took it all). */
export function videoBudget(totalBps: number, audioBps: number, fps: number): number {
  const audio = audioBps + AUDIO_PACKETS_PER_SECOND * OVERHEAD_BITS
  return (totalBps - audio - fps * OVERHEAD_BITS) / (1 + PACKET_OVERHEAD_BYTES / VIDEO_PAYLOAD_BYTES)
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value))
}

/** The best rung whose floor the budget meets, the floor scaled by `margin` (the last rung if none). */
function bestRung(totalBps: number, audioBps: number, margin: number): number {
  const index = RUNGS.findIndex((r) => videoBudget(totalBps, audioBps, r.fps) >= r.minBps * margin)
  return index === -1 ? RUNGS.length - 1 : index
}

/**
 * The rung and bitrate for the latest target. Down at once (the link is full now); up only once the budget
 * has cleared the better rung's floor by UP_MARGIN for UP_HOLD_MS. Until the first drop the hold is not
 * needed: the first target is the estimate's start value (300 kbit/s), which ramps up within a second on a
 * good link, and a call should not spend its first seconds at 15 fps for it.
 */
export class SendLadder {
  private rung = 0
  private totalBps: number | null = null
  private upSinceMs: number | null = null
  private dropped = false

  constructor(private readonly audioBps: number = AUDIO_RESERVE_BPS) {}

  setTarget(totalBps: number, nowMs: number): void {
    const first = this.totalBps === null
    this.totalBps = totalBps
    if (first) this.rung = bestRung(totalBps, this.audioBps, 1)
    this.step(nowMs)
  }

  /** Called for every captured frame, so a hold ends without a new target. */
  tick(nowMs: number): void {
    this.step(nowMs)
  }

  settings(): EncoderSettings {
    const { width, height, fps } = RUNGS[this.rung]!
    const bitrateBps =
      this.totalBps === null
        ? DEFAULT_VIDEO_BPS
        : clamp(Math.round(videoBudget(this.totalBps, this.audioBps, fps)), MIN_VIDEO_BPS, MAX_VIDEO_BPS)
    return { width, height, fps, bitrateBps }
  }

  private step(nowMs: number): void {
    if (this.totalBps === null) return
    const fits = bestRung(this.totalBps, this.audioBps, 1)
    if (fits > this.rung) {
      this.rung = fits
      this.upSinceMs = null
      this.dropped = true
      return
    }
    const clears = bestRung(this.totalBps, this.audioBps, UP_MARGIN)
    if (clears >= this.rung) {
      this.upSinceMs = null
      return
    }
    this.upSinceMs ??= nowMs
    if (!this.dropped || nowMs - this.upSinceMs >= UP_HOLD_MS) {
      this.rung = clears
      this.upSinceMs = null
    }
  }
}

/** Another size or frame rate always; the bitrate only when it moved by MIN_BITRATE_CHANGE or more. */
export function worthReconfiguring(current: EncoderSettings, next: EncoderSettings): boolean {
  if (current.width !== next.width || current.height !== next.height || current.fps !== next.fps) return true
  return Math.abs(next.bitrateBps - current.bitrateBps) >= current.bitrateBps * MIN_BITRATE_CHANGE
}

/**
 * Whether a captured frame is encoded at `fps`: when at least ¾ of a frame interval has passed since the last
 * one kept (a 30 fps camera at 15 fps: every other frame; camera jitter does not drop frames at 30 fps).
 */
export function keepFrame(lastKeptUs: number | null, timestampUs: number, fps: number): boolean {
  if (lastKeptUs === null || timestampUs < lastKeptUs) return true
  return timestampUs - lastKeptUs >= (0.75 * 1_000_000) / fps
}
