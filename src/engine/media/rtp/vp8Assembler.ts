import { LayerChain, type FrameLayer } from './layerChain'
import { RepairWait } from './repairWait'
import { Unwrapper } from './sequence'
import { isVp8KeyFrame, parseVp8Descriptor, type Vp8Descriptor } from './vp8'

/**
 * Reassembles VP8 frames from RTP packets (RFC 7741 §4.1, §4.5.1): the packets of one frame share a
 * timestamp, the first has S=1 with PID=0, the last carries the marker, and the sequence numbers between
 * them are all present. Frames leave in order and only decodable ones: from a key frame on, each frame must
 * start right after the previous one ended. Packets may arrive late (reordering, NACK retransmissions):
 * an incomplete frame, or a gap before a complete one, is waited for as long as this stream's repairs
 * take (repairWait.ts: at least `maxWaitMs`, at most the freeze rule's 500 ms, or 1 s when losing it would
 * cost a key frame), from when the loss could be seen (see `waitingSince`); past that, the frame is
 * dropped and delta frames are skipped until the next key frame, with `keyFrameNeeded` set so the caller
 * can ask for one (PLI). When the sender marks temporal layers (L1T3), a loss costs only the frames that
 * referenced what was lost (layerChain.ts): a complete frame after a gap that is decodable whatever the gap
 * held goes out at once, and only a lost base-layer frame needs a key frame. A complete key frame goes
 * out at once, whatever is still missing before it. Pure: time comes in with each packet.
 */

export interface RtpIn {
  sequenceNumber: number
  timestamp: number
  marker: boolean
  payload: Uint8Array
}

export interface AssembledFrame {
  data: Uint8Array
  rtpTimestamp: number
  keyFrame: boolean
}

export interface AssemblerResult {
  frames: AssembledFrame[]
  /** A frame was lost or undecodable: ask the sender for a key frame. */
  keyFrameNeeded: boolean
}

export interface AssemblerOptions {
  /** How long a frame at the head may wait for missing packets at least (longer when repairs take longer). */
  maxWaitMs?: number
  /** Frames held behind an incomplete head before it is given up. */
  maxPendingFrames?: number
  /** A frame larger than this many packets is dropped (bounded memory). */
  maxPacketsPerFrame?: number
}

export const ASSEMBLER_DEFAULTS = { maxWaitMs: 250, maxPendingFrames: 30, maxPacketsPerFrame: 4096 } as const

interface PendingFrame {
  rtpTimestamp: number
  /** Extended sequence number → VP8 payload without its descriptor. */
  packets: Map<number, Uint8Array>
  firstSeq?: number
  lastSeq?: number
  minSeq: number
  maxSeq: number
  arrivedAt: number
  /** When a packet after all of its own first came: a missing tail can be seen (and NACKed) from then. */
  overtakenAt?: number
  /** Its temporal layer marks, when the sender set them. */
  layer?: FrameLayer
}

function layerOf(descriptor: Vp8Descriptor): FrameLayer | undefined {
  const { temporalLayerId, tl0PicIdx, layerSync } = descriptor
  if (temporalLayerId === undefined || tl0PicIdx === undefined) return undefined
  return { temporalLayerId, tl0PicIdx, layerSync: layerSync === true }
}

export class Vp8Assembler {
  private readonly options: Required<AssemblerOptions>
  private readonly sequence = new Unwrapper(16)
  private readonly pending = new Map<number, PendingFrame>()
  private nextSeq: number | undefined
  private needKeyFrame = true
  private readonly chain = new LayerChain()
  private readonly repair: RepairWait
  /** Packets whose descriptor did not parse. */
  malformed = 0
  /** Frames lost or skipped without a key frame being needed (temporal layers). */
  skipped = 0

  constructor(options: AssemblerOptions = {}) {
    this.options = { ...ASSEMBLER_DEFAULTS, ...options }
    this.repair = new RepairWait(this.options.maxWaitMs)
  }

  /** How long a frame waits for a missing packet now (this stream's repairs, repairWait.ts). */
  get waitMs(): number {
    return this.repair.waitMs()
  }

  push(packet: RtpIn, nowMs: number): AssemblerResult {
    const result: AssemblerResult = { frames: [], keyFrameNeeded: false }
    const seq = this.sequence.unwrap(packet.sequenceNumber)
    this.repair.onPacket(seq, nowMs)
    if (this.nextSeq !== undefined && seq < this.nextSeq) return result
    const descriptor = parseVp8Descriptor(packet.payload)
    if (!descriptor) {
      this.malformed++
      return result
    }
    const frame = this.frameFor(packet.timestamp, seq, nowMs)
    if (frame.packets.has(seq)) return result
    for (const other of this.pending.values()) {
      if (other !== frame && other.maxSeq < seq) other.overtakenAt ??= nowMs
    }
    frame.packets.set(seq, packet.payload.subarray(descriptor.length))
    frame.layer ??= layerOf(descriptor)
    frame.minSeq = Math.min(frame.minSeq, seq)
    frame.maxSeq = Math.max(frame.maxSeq, seq)
    if (descriptor.start && descriptor.partitionId === 0) frame.firstSeq = seq
    if (packet.marker) frame.lastSeq = seq
    if (frame.packets.size > this.options.maxPacketsPerFrame) {
      this.pending.delete(frame.rtpTimestamp)
      this.gone(frame, result)
    }
    this.drain(nowMs, result)
    return result
  }

  private frameFor(rtpTimestamp: number, seq: number, nowMs: number): PendingFrame {
    let frame = this.pending.get(rtpTimestamp)
    if (!frame) {
      frame = { rtpTimestamp, packets: new Map(), minSeq: seq, maxSeq: seq, arrivedAt: nowMs }
      this.pending.set(rtpTimestamp, frame)
    }
    return frame
  }

  private drain(nowMs: number, result: AssemblerResult): void {
    for (;;) {
      const head = this.head()
      if (!head) return
      const complete = isComplete(head)
      if (complete && (this.nextSeq === undefined || head.firstSeq === this.nextSeq)) {
        this.emit(head, result)
        continue
      }
      const key = this.keyFrameBehind()
      if (key !== undefined) {
        this.skipToKeyFrame(key, result)
        continue
      }
      const next = this.decodableAfterGap()
      if (next !== undefined) {
        this.skipTo(next, result)
        continue
      }
      // Joined in the middle of a frame: its start will never come once a later frame is complete.
      const headless = this.nextSeq === undefined && head.firstSeq === undefined && this.laterComplete(head)
      const stale =
        nowMs - waitingSince(head) >= this.repair.waitMs(this.holdsChain(head)) ||
        this.pending.size > this.options.maxPendingFrames
      if (!headless && !stale) return
      this.pending.delete(head.rtpTimestamp)
      this.nextSeq = (head.lastSeq ?? head.maxSeq) + 1
      if (complete) this.emit(head, result, true)
      else this.gone(head, result)
    }
  }

  /**
   * The first complete frame whose layer marks say it is decodable whatever is missing before it (a TL0
   * frame of the next group, a sync frame of this one): waiting for what is missing would only delay it.
   */
  private decodableAfterGap(): PendingFrame | undefined {
    if (this.needKeyFrame || !this.chain.intact) return undefined
    const frames = [...this.pending.values()].sort((a, b) => a.minSeq - b.minSeq)
    const decodable = (f: PendingFrame): boolean =>
      isComplete(f) && f.layer !== undefined && this.chain.judge(f.layer, true) === 'decodable'
    return frames.find(decodable)
  }

  /**
   * A complete key frame behind a head that cannot go out now: it references nothing, so whatever is
   * missing before it no longer matters. Without this it waited out the head's repair wait (up to 500 ms
   * on a slow link) behind a delta frame that, while the stream waits for a key frame, is dropped anyway:
   * the key frame a freeze asked for came and the freeze went on.
   */
  private keyFrameBehind(): PendingFrame | undefined {
    let found: PendingFrame | undefined
    for (const frame of this.pending.values()) {
      if (found !== undefined && frame.minSeq > found.minSeq) continue
      if (isComplete(frame) && startsKeyFrame(frame)) found = frame
    }
    return found
  }

  /** Drops every frame before the key frame `frame` (nothing after it can need them) and sends it. */
  private skipToKeyFrame(frame: PendingFrame, result: AssemblerResult): void {
    for (const earlier of [...this.pending.values()]) {
      if (earlier.minSeq >= frame.minSeq) continue
      this.pending.delete(earlier.rtpTimestamp)
      if (!this.needKeyFrame) this.skipped++
    }
    this.emit(frame, result)
  }

  /** Gives up every frame before `frame` (they hold nothing it needs) and sends it. */
  private skipTo(frame: PendingFrame, result: AssemblerResult): void {
    for (const earlier of [...this.pending.values()]) {
      if (earlier.minSeq >= frame.minSeq) continue
      this.pending.delete(earlier.rtpTimestamp)
      this.gone(earlier, result)
    }
    this.emit(frame, result, true)
  }

  /** A frame given up: with temporal layers the next frames say what it cost; without, a key frame. */
  private gone(frame: PendingFrame, result: AssemblerResult): void {
    if (!this.needKeyFrame && this.chain.intact && frame.layer?.temporalLayerId !== 0) {
      this.chain.lost()
      this.skipped++
      return
    }
    this.lost(result)
  }

  /**
   * Whether giving up `frame` (the head) and what is missing before it would cost a key frame: it is
   * one, or the chain holds and the frame is a base-layer frame, has no layer marks, or references a
   * base-layer frame that is missing. A stream already waiting for a key frame has no chain to lose; an
   * upper-layer frame whose base arrived costs itself at most (layerChain.ts).
   */
  private holdsChain(frame: PendingFrame): boolean {
    if (startsKeyFrame(frame)) return true
    if (this.needKeyFrame || !this.chain.intact) return false
    if (frame.layer === undefined || frame.layer.temporalLayerId === 0) return true
    return this.chain.judge(frame.layer, true) === 'broken'
  }

  private head(): PendingFrame | undefined {
    let head: PendingFrame | undefined
    for (const frame of this.pending.values()) if (!head || frame.minSeq < head.minSeq) head = frame
    return head
  }

  private laterComplete(head: PendingFrame): boolean {
    for (const frame of this.pending.values()) if (frame !== head && isComplete(frame)) return true
    return false
  }

  /** `gapBefore`: frames between the last one out and this one are missing. */
  private emit(frame: PendingFrame, result: AssemblerResult, gapBefore = false): void {
    this.pending.delete(frame.rtpTimestamp)
    this.nextSeq = (frame.lastSeq ?? frame.maxSeq) + 1
    const data = assemble(frame)
    const keyFrame = isVp8KeyFrame(data)
    if (keyFrame) {
      this.needKeyFrame = false
      this.chain.keyFrame(frame.layer)
    } else if (this.needKeyFrame) {
      return this.lost(result)
    } else if (frame.layer !== undefined && this.chain.intact) {
      if (gapBefore) this.chain.lost()
      const verdict = this.chain.judge(frame.layer)
      if (verdict === 'broken') return this.lost(result)
      if (verdict === 'skip') {
        this.chain.lost()
        this.skipped++
        return
      }
      this.chain.delivered(frame.layer)
    } else if (gapBefore) {
      return this.lost(result)
    }
    result.frames.push({ data, rtpTimestamp: frame.rtpTimestamp, keyFrame })
  }

  private lost(result: AssemblerResult): void {
    this.needKeyFrame = true
    this.chain.reset()
    result.keyFrameNeeded = true
  }
}

/**
 * A frame still arriving in order (its start and every packet since, no marker yet) is not late: on a slow
 * link a key frame takes longer than the wait to arrive (10 KB at 300 kbit/s: 270 ms), and giving it up
 * would ask for another key frame that takes as long. It waits from when a later packet overtook it: only
 * then can its missing tail be seen, and NACKed (on a base layer at 4 fps that is 250 ms after its last
 * packet, and it was given up at once, before its retransmission could even be asked for). Any other
 * incomplete frame (a gap inside, its start missing) waits from its first packet.
 */
function waitingSince(frame: PendingFrame): number {
  const { firstSeq, lastSeq, minSeq, maxSeq } = frame
  const inOrder = firstSeq === minSeq && lastSeq === undefined && frame.packets.size === maxSeq - minSeq + 1
  if (!inOrder) return frame.arrivedAt
  return frame.overtakenAt ?? Number.POSITIVE_INFINITY
}

/** Its first packet has come and says key frame (the VP8 payload header's P bit, RFC 6386 §9.1). */
function startsKeyFrame(frame: PendingFrame): boolean {
  const first = frame.firstSeq === undefined ? undefined : frame.packets.get(frame.firstSeq)
  return first !== undefined && isVp8KeyFrame(first)
}

function isComplete(frame: PendingFrame): boolean {
  const { firstSeq, lastSeq } = frame
  if (firstSeq === undefined || lastSeq === undefined || lastSeq < firstSeq) return false
  if (frame.minSeq < firstSeq || frame.maxSeq > lastSeq) return false
  return frame.packets.size === lastSeq - firstSeq + 1
}

function assemble(frame: PendingFrame): Uint8Array {
  const seqs = [...frame.packets.keys()].sort((a, b) => a - b)
  return Buffer.concat(seqs.map((seq) => frame.packets.get(seq)!))
}
