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

export class KeyFrames {
  private lastKeyMs: number | null = null
  private requested = false

  request(): void {
    this.requested = true
  }

  /** Whether the frame about to be encoded at `nowMs` should be a key frame. */
  due(nowMs: number): boolean {
    if (this.lastKeyMs === null) return true
    const since = nowMs - this.lastKeyMs
    return since >= KEY_FRAME_INTERVAL_MS || (this.requested && since >= MIN_FORCED_KEY_GAP_MS)
  }

  /**
   * A key frame was asked of the encoder, or came out of it (the encoder makes one itself on a new size):
   * it answers every request made before it.
   */
  sent(nowMs: number): void {
    this.lastKeyMs = nowMs
    this.requested = false
  }
}
