/**
 * When the video sender makes a key frame (docs/media.md "Encoders that follow the target"). Pure: time is
 * passed in.
 */

/** A key frame at least this often even if nobody asks (a late joiner or a lost request costs less then). */
export const KEY_FRAME_INTERVAL_MS = 10_000
/**
 * Requests (the engine's, for a PLI or FIR from the conference server) are served at most once per this
 * gap. A key frame is 5–10 times a delta frame: one lost packet seen by several subscribers, or one
 * subscriber asking again before the first answer reached it, would otherwise send key frames back to back,
 * each overshooting the send target, which loses more packets and brings more requests. A request inside the
 * gap is kept and served when it ends, so none is lost.
 */
export const MIN_FORCED_KEY_GAP_MS = 400
/**
 * On a slow link the gap is longer: requested key frames take at most this share of the video bitrate (the
 * last key frame's bits over this share of the bitrate, from one to the next). At 150–250 kbit/s a 640x360
 * key frame of 5–20 kB is 0.2–1 s of the whole budget; bench:network's `poor` (600 kbit/s for two
 * participants, 3 % loss) had its senders make two key frames a second each, for requests from receivers
 * whose chain a loss had broken, and those bursts overflowed the link, which broke more chains.
 */
export const KEY_FRAME_SHARE = 0.5
/**
 * ...but a receiver frozen for want of a key frame never waits longer than this for one (the conference
 * server passes a slow subscriber's requests once a second at most, too). The last key frame may be one
 * made at a higher bitrate, several times the next: after `step`'s drop from 3 Mbit/s to 400 kbit/s its
 * budget was 6 s, and a 2 s cap left receivers frozen that long.
 */
export const MAX_FORCED_KEY_GAP_MS = 1_000

export class KeyFrames {
  private lastKeyMs: number | null = null
  private lastKeyBytes = 0
  private requested = false
  private now = false

  request(): void {
    this.requested = true
  }

  /**
   * A new source (another camera): its first frame is a key frame, whatever the gap. Every pixel changes, so
   * a delta frame would cost nearly as much, and the gap is there against storms of receivers' requests, not
   * against a person's rare switch; waiting up to a second would show the new camera first through delta
   * frames built on the old picture.
   */
  requestNow(): void {
    this.now = true
    this.requested = true
  }

  /**
   * Whether the frame about to be encoded at `nowMs` should be a key frame; `bitrateBps`: what the encoder
   * is asked for now (without it, the gap between requested key frames is the shortest).
   */
  due(nowMs: number, bitrateBps?: number): boolean {
    if (this.lastKeyMs === null || this.now) return true
    const since = nowMs - this.lastKeyMs
    return since >= KEY_FRAME_INTERVAL_MS || (this.requested && since >= this.forcedGapMs(bitrateBps))
  }

  /** The size of the key frame the encoder gave last. */
  keyFrameBytes(bytes: number): void {
    this.lastKeyBytes = bytes
  }

  private forcedGapMs(bitrateBps: number | undefined): number {
    if (bitrateBps === undefined || bitrateBps <= 0) return MIN_FORCED_KEY_GAP_MS
    const budgetMs = (this.lastKeyBytes * 8000) / (bitrateBps * KEY_FRAME_SHARE)
    return Math.min(MAX_FORCED_KEY_GAP_MS, Math.max(MIN_FORCED_KEY_GAP_MS, budgetMs))
  }

  /**
   * A key frame was asked of the encoder, or came out of it (the encoder makes one itself on a new size):
   * it answers every request made before it.
   */
  sent(nowMs: number): void {
    this.lastKeyMs = nowMs
    this.requested = false
    this.now = false
  }
}
