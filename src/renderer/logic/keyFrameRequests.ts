/**
 * How often a remote video's receiver asks the engine for a key frame while it waits for one (docs/media.md
 * "Recovery"): the engine rate-limits its PLIs the same way, and a request lost on the way is repeated
 * rather than leaving the tile frozen until the sender's periodic key frame. Pure: time is passed in.
 */
export const KEY_FRAME_REQUEST_INTERVAL_MS = 500

export class KeyFrameRequests {
  private lastMs = Number.NEGATIVE_INFINITY

  /** True when a request may go now (and counts it as gone). */
  take(nowMs: number): boolean {
    if (nowMs - this.lastMs < KEY_FRAME_REQUEST_INTERVAL_MS) return false
    this.lastMs = nowMs
    return true
  }
}
