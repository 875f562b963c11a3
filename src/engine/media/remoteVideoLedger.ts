import type { RemoteVideoTotals } from '../stats/remoteVideoStats'
import { VP8_CLOCK_RATE, vp8KeyFrameSize } from './rtp/vp8'

/**
 * Per remote user, what their video did since the call began (docs/engine.md "Statistics", docs/media.md
 * "Recovery"): bytes, packets received and expected, frames, the last key frame's size, the highest VP8
 * temporal layer since the last look, and freezes. The call owns one ledger and every PeerConnection it
 * builds writes to it, so a full rejoin does not reset the counts. Pure: time comes in with each call.
 *
 * A freeze is a gap of at least FREEZE_MS between two frames of a stream the user still publishes: noticed
 * when a packet arrives and no frame has come out for that long (the caller then asks for a key frame at
 * once), or when the figures are taken, or at the frame that ends it. Its length runs from the last frame
 * before it to the first frame after it (or to the moment it is looked at, while it lasts). A stream that
 * ends (the user stopped publishing) ends its freeze there; the next stream starts afresh.
 */

export const FREEZE_MS = 500

interface Entry extends RemoteVideoTotals {
  lastFrameAt?: number
  /** The RTP timestamp of the last frame, for the step to the next. */
  lastRtpTimestamp?: number
  frozenSince?: number
  /** False from the end of a stream to the next packet: not listed, cannot freeze. */
  publishing: boolean
}

export class RemoteVideoLedger {
  private readonly users = new Map<number, Entry>()

  /**
   * One RTP packet of `uid`'s video; `newlyExpected` is how far it moved the highest sequence number (0 for
   * a late or repeated one). True while the stream is frozen: the caller asks for a key frame (rate-limited).
   */
  packet(uid: number, nowMs: number, bytes: number, newlyExpected: number, temporalLayer?: number): boolean {
    const entry = this.entry(uid)
    entry.publishing = true
    entry.bytes += bytes
    entry.packets++
    entry.expected += newlyExpected
    if (temporalLayer !== undefined && temporalLayer > (entry.temporalLayer ?? -1)) {
      entry.temporalLayer = temporalLayer
    }
    return this.frozen(entry, nowMs)
  }

  /** A frame came out of reassembly: it ends a freeze (counting one the packets did not reveal). */
  frame(uid: number, nowMs: number, data: Uint8Array, keyFrame: boolean, rtpTimestamp?: number): void {
    const entry = this.entry(uid)
    entry.frames++
    if (rtpTimestamp !== undefined) this.step(entry, rtpTimestamp)
    if (keyFrame) {
      const size = vp8KeyFrameSize(data)
      if (size) Object.assign(entry, size)
    }
    this.frozen(entry, nowMs)
    if (entry.frozenSince !== undefined) entry.frozenMs += nowMs - entry.frozenSince
    entry.frozenSince = undefined
    entry.lastFrameAt = nowMs
  }

  /**
   * The user's video stream ended here: they unpublished (the server says so before its next offer drops
   * the m-line) or left, or the m-line went to someone else. Not listed again until their next packet.
   */
  streamEnded(uid: number, nowMs: number): void {
    const entry = this.users.get(uid)
    if (!entry) return
    if (entry.frozenSince !== undefined) entry.frozenMs += nowMs - entry.frozenSince
    entry.frozenSince = undefined
    entry.lastFrameAt = undefined
    entry.lastRtpTimestamp = undefined
    entry.publishing = false
  }

  /** The totals of `uids` (those whose video is received now) at `nowMs`; starts each temporal-layer window anew. */
  snapshot(uids: Iterable<number>, nowMs: number): RemoteVideoTotals[] {
    const result: RemoteVideoTotals[] = []
    for (const uid of uids) {
      const entry = this.users.get(uid)
      if (!entry?.publishing) continue
      this.frozen(entry, nowMs)
      const {
        lastFrameAt: _last,
        lastRtpTimestamp: _rtp,
        frozenSince,
        publishing: _publishing,
        ...totals
      } = entry
      if (frozenSince !== undefined) totals.frozenMs += nowMs - frozenSince
      result.push(totals)
      delete entry.temporalLayer
      delete entry.frameIntervalTicks
    }
    return result
  }

  private entry(uid: number): Entry {
    let entry = this.users.get(uid)
    if (!entry) {
      entry = {
        uid,
        bytes: 0,
        packets: 0,
        expected: 0,
        frames: 0,
        freezeCount: 0,
        frozenMs: 0,
        publishing: true,
      }
      this.users.set(uid, entry)
    }
    return entry
  }

  /**
   * The shortest RTP timestamp step between two frames in a row is the interval at which frames are sent to
   * us: the sender's frame rate, halved or quartered by the temporal layers the server forwards. A lost
   * frame makes one step longer, never shorter; steps over a second (a pause) are not intervals.
   */
  private step(entry: Entry, rtpTimestamp: number): void {
    const previous = entry.lastRtpTimestamp
    entry.lastRtpTimestamp = rtpTimestamp
    if (previous === undefined) return
    const ticks = (rtpTimestamp - previous) >>> 0
    if (ticks === 0 || ticks > VP8_CLOCK_RATE) return
    entry.frameIntervalTicks = Math.min(entry.frameIntervalTicks ?? ticks, ticks)
  }

  /** Starts a freeze when the last frame is FREEZE_MS old; true while one lasts. */
  private frozen(entry: Entry, nowMs: number): boolean {
    if (entry.frozenSince !== undefined) return true
    if (entry.lastFrameAt === undefined || nowMs - entry.lastFrameAt < FREEZE_MS) return false
    entry.frozenSince = entry.lastFrameAt
    entry.freezeCount++
    return true
  }
}
