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
 * Best first. The resolution goes first, then the frame rate; 320x180 at 15 fps has no floor. VP8 640x360 at
 * 30 fps below ~250 kbit/s, or 320x180 at 30 fps below ~80 kbit/s (about the same bits per pixel), turns
 * blocky. Frame rate last because the conference server thins it further per subscriber (temporal layers:
 * a subscriber on layer 1 gets half, on the base layer a quarter): from 15 fps that left 7.5 or 3.75 fps,
 * where one late or lost frame is a freeze (bench:network `poor`), from 30 fps it leaves 15 or 7.5. Chromium
 * keeps 30 fps at these rates too (the same bench: 150 kbit/s, frame numbers stepping by one).
 */
export const RUNGS: readonly Rung[] = [
  { width: 640, height: 360, fps: 30, minBps: 250_000 },
  { width: 320, height: 180, fps: 30, minBps: 80_000 },
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
/**
 * The engine's estimate starts here (protocol/media/bwe/types.ts `startBps`), and until its first target
 * comes the encoder sends this budget's video at the first rung: a link is not known to carry more yet.
 * Before, it sent a fixed 800 kbit/s here, and on bench:network's `poor` (600 kbit/s shared by two) both
 * senders flooded the link until their first target came and the encoder settled (1–2 s): 83 packets
 * of each stream lost before the conference server, and key frames asked for all round. An engine whose
 * server does not agree to transport-wide feedback sends one target of what the app sent before estimates
 * existed (engine/media/sendControl.ts).
 */
export const START_TARGET_BPS = 300_000
/** VP8 at 640x360 gains little past this; a link that allows more gets a margin instead. */
export const MAX_VIDEO_BPS = 1_000_000
/** The encoder is never asked for less (even when audio takes the whole budget). */
export const MIN_VIDEO_BPS = 30_000
/** Going up a rung needs this much more than the rung's floor... */
export const UP_MARGIN = 1.3
/** ...for this long without a break: a probe's brief overshoot does not bring a key frame and a drop back. */
export const UP_HOLD_MS = 2_000
/**
 * The encoder counts as held back by its budget (the content needs more) once its measured output is this
 * share of the budget at its rung or more; below it the content fits and a lower target keeps the rung.
 */
export const CONSTRAINED_SHARE = 0.85
/**
 * Back up a rung on content alone (the target not clearing the floor): the output at this rung, scaled by
 * the better rung's pixel rate, must fit in this share of the better rung's budget. Well under
 * CONSTRAINED_SHARE, so a move up on content is not undone by the next measurement.
 */
export const CONTENT_UP_SHARE = 0.5
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

/** Width × height × fps: what the encoder's output scales with, at most, between rungs. */
function pixelRate(r: Rung): number {
  return r.width * r.height * r.fps
}

/**
 * The rung and bitrate for the latest target. The bitrate follows the target at every rung. The rung:
 * - down when the target's budget is under the rung's floor AND the encoder is held back by its budget: its
 *   last measured output (delta frames, at this rung) is CONSTRAINED_SHARE of the budget at this rung or
 *   more, or nothing has been measured at this rung yet. Simple content (an encoder sending clearly less
 *   than it may) keeps its rung: the floors are where busy content turns blocky, and a low target from an
 *   application-limited estimate says nothing about the picture. As Chromium does, the size goes on what
 *   the encoder meets, not on a bitrate number alone.
 * - up once the budget has cleared the better rung's floor by UP_MARGIN, or, one rung at a time, once the
 *   measured output scaled by the better rung's pixel rate fits in CONTENT_UP_SHARE of its budget (the
 *   content became simple: up even though the estimate stays low), either for UP_HOLD_MS without a break.
 *   Until the first drop the hold is not needed: the first target is the estimate's start value (300
 *   kbit/s), which ramps up within a second on a good link, and a call should not spend its first seconds
 *   at 320x180 for it.
 */
export class SendLadder {
  private rung = 0
  private totalBps: number | null = null
  private upSinceMs: number | null = null
  private dropped = false
  /** The encoder's last measured output at the current rung, bit/s (null: none yet). */
  private sentBps: number | null = null

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

  /** What the encoder sent over its last measured window (delta frames, bit/s; logic/rateTrim.ts). */
  measured(sentBps: number, nowMs: number): void {
    this.sentBps = sentBps
    this.step(nowMs)
  }

  settings(): EncoderSettings {
    const { width, height, fps } = RUNGS[this.rung]!
    const total = this.totalBps ?? START_TARGET_BPS
    const bitrateBps = clamp(Math.round(videoBudget(total, this.audioBps, fps)), MIN_VIDEO_BPS, MAX_VIDEO_BPS)
    return { width, height, fps, bitrateBps }
  }

  private step(nowMs: number): void {
    const total = this.totalBps
    if (total === null) return
    if (bestRung(total, this.audioBps, 1) > this.rung && this.constrained(total)) {
      this.moveTo(bestRung(total, this.audioBps, 1))
      this.dropped = true
      return
    }
    const byTarget = bestRung(total, this.audioBps, UP_MARGIN)
    const up = Math.min(byTarget, this.contentRung(total))
    if (up >= this.rung) {
      this.upSinceMs = null
      return
    }
    this.upSinceMs ??= nowMs
    if (this.dropped && nowMs - this.upSinceMs < UP_HOLD_MS) return
    // Up on content alone, the target is still under the new rung's floor: its first measure is the one
    // the move was judged on, else the next frame would find "nothing measured here" and go straight back.
    this.moveTo(up, up < byTarget ? this.scaledTo(up) : null)
  }

  private moveTo(rung: number, sentBps: number | null = null): void {
    this.rung = rung
    this.upSinceMs = null
    this.sentBps = sentBps // a measure at another size or frame rate says nothing about this one
  }

  private constrained(totalBps: number): boolean {
    if (this.sentBps === null) return true
    const budget = videoBudget(totalBps, this.audioBps, RUNGS[this.rung]!.fps)
    return this.sentBps >= CONSTRAINED_SHARE * budget
  }

  /** The better rung when the content measured here would fit in it with room to spare, else this one. */
  private contentRung(totalBps: number): number {
    if (this.sentBps === null || this.rung === 0) return this.rung
    const better = RUNGS[this.rung - 1]!
    const fits =
      this.scaledTo(this.rung - 1) <= CONTENT_UP_SHARE * videoBudget(totalBps, this.audioBps, better.fps)
    return fits ? this.rung - 1 : this.rung
  }

  /** The output measured here, scaled to another rung's pixel rate (an upper bound of what it costs there). */
  private scaledTo(rung: number): number {
    return ((this.sentBps ?? 0) * pixelRate(RUNGS[rung]!)) / pixelRate(RUNGS[this.rung]!)
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
