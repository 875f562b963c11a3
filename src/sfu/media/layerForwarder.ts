import { DropLedger } from './dropLedger'
import { parseVp8LayerInfo, writePictureId, type Vp8LayerInfo } from './vp8Layers'

/**
 * One subscriber's view of one VP8 publisher encoded with temporal layers (L1T3): forwards the frames of
 * layers up to the subscriber's target and renumbers what it forwards so the subscriber sees one
 * continuous stream (docs/sfu.md, "Temporal-layer forwarding").
 *
 * - RTP sequence numbers and PictureIDs of dropped packets/frames are taken out of the numbering, so a
 *   drop is no loss to the subscriber (no NACK for it, no PictureID hole for its decoder to wait on); a
 *   packet that never arrived stays a gap, so the subscriber NACKs it, unless both its neighbours
 *   belong to one dropped frame.
 * - TL0PICIDX is left as it is: base-layer frames are never dropped, so it is already continuous.
 * - Timestamps, marker and payload bytes other than the PictureID are unchanged.
 * - Layer changes happen at safe points only: up at a keyframe or a base-layer frame (every frame of an
 *   L1T3 pattern references only frames since the last TL0), or stepwise at a frame with Y set for a layer
 *   up to the target; down at the next frame.
 * - Nothing is forwarded before the first keyframe: the subscriber could not decode it.
 *
 * Pure: no I/O, no clock. The caller sends `sequenceNumber` and `payload` in place of the packet's own.
 */

export type TemporalLayer = 0 | 1 | 2

export interface LayerPacket {
  sequenceNumber: number
  /** The VP8 payload (descriptor + VP8 data), without RTP header or padding. */
  payload: Uint8Array
}

export interface ForwardedPacket {
  sequenceNumber: number
  /** A copy of the payload with the PictureID rewritten. */
  payload: Uint8Array
}

export type DropReason =
  | 'layer' // above the temporal layer forwarded now
  | 'beforeKeyframe' // no keyframe forwarded yet
  | 'duplicate'
  | 'tooOld' // older than the reorder window
  | 'malformed' // no parsable descriptor, or no PictureID to renumber frames by

export type LayerDecision =
  { forward: true; packet: ForwardedPacket } | { forward: false; reason: DropReason }

/** How far back a late packet (reordered, or retransmitted to the SFU) is still renumbered. */
const SEQ_WINDOW = 512
const PICTURE_WINDOW = 256

export class LayerForwarder {
  private target: TemporalLayer
  private current: TemporalLayer
  private started = false
  private seqs = new DropLedger(16, SEQ_WINDOW)
  private pictures: DropLedger | undefined
  /** Decisions per extended PictureID, so every packet of a frame goes the same way. */
  private readonly decided = new Map<number, boolean>()
  private newestDecided = Number.NEGATIVE_INFINITY
  private readonly seen = new Set<number>()
  private firstSeq = 0
  /** The newest packet given a decision, and its frame: to tell a loss inside a dropped frame. */
  private newestSeq = Number.NEGATIVE_INFINITY
  private newestSeqPicture = Number.NaN

  constructor(target: TemporalLayer = 2) {
    this.target = target
    this.current = target
  }

  /** The highest temporal layer the subscriber should get; applied at the next safe point. */
  setTarget(layer: TemporalLayer): void {
    this.target = layer
  }

  /** The highest temporal layer forwarded now. */
  get layer(): TemporalLayer {
    return this.current
  }

  handle(packet: LayerPacket): LayerDecision {
    const seq = this.seqs.extend(packet.sequenceNumber)
    if (this.seqs.isTooOld(seq)) return { forward: false, reason: 'tooOld' }
    if (this.seen.has(seq)) return { forward: false, reason: 'duplicate' }
    const info = parseVp8LayerInfo(packet.payload)
    if (info?.pictureId === undefined) return this.drop(seq, 'malformed')
    if (!this.started) {
      if (!info.keyframe) return { forward: false, reason: 'beforeKeyframe' }
      this.start(seq, info)
    } else if (seq < this.firstSeq) {
      return { forward: false, reason: 'beforeKeyframe' }
    }
    this.remember(seq)
    const pictures = this.pictures
    if (pictures === undefined || pictures.modulus !== 2 ** info.pictureIdBits) {
      return this.drop(seq, 'malformed')
    }
    const picture = pictures.extend(info.pictureId)
    if (pictures.isTooOld(picture)) return this.drop(seq, 'tooOld')
    pictures.see(picture)
    const forward = this.decide(picture, info)
    this.followNewest(seq, picture, forward)
    if (!forward) {
      pictures.drop(picture)
      return this.drop(seq, 'layer')
    }
    const payload = Uint8Array.from(packet.payload)
    writePictureId(payload, info, pictures.forward(picture))
    return { forward: true, packet: { sequenceNumber: this.seqs.forward(seq), payload } }
  }

  private start(seq: number, info: Vp8LayerInfo): void {
    this.started = true
    this.firstSeq = seq
    this.pictures = new DropLedger(info.pictureIdBits, PICTURE_WINDOW)
  }

  private drop(seq: number, reason: DropReason): LayerDecision {
    if (this.started && seq >= this.firstSeq) {
      this.remember(seq)
      this.seqs.drop(seq)
    }
    return { forward: false, reason }
  }

  /**
   * A gap between two packets of the same frame is a loss inside that frame: when the frame is dropped,
   * its missing packets are hidden too, so the subscriber does not NACK what it would never get.
   */
  private followNewest(seq: number, picture: number, forward: boolean): void {
    if (seq <= this.newestSeq) return
    if (!forward && picture === this.newestSeqPicture && seq - this.newestSeq < SEQ_WINDOW) {
      for (let missing = this.newestSeq + 1; missing < seq; missing += 1) this.seqs.drop(missing)
    }
    this.newestSeq = seq
    this.newestSeqPicture = picture
  }

  private remember(seq: number): void {
    this.seqs.see(seq)
    this.seen.add(seq)
    // Keep only what the window can still accept (the set never grows past it).
    if (this.seen.size > SEQ_WINDOW * 2) {
      for (const s of this.seen) if (this.seqs.isTooOld(s)) this.seen.delete(s)
    }
  }

  /** Forward this frame? Decided at its first packet to arrive, the same for all its packets. */
  private decide(picture: number, info: Vp8LayerInfo): boolean {
    const known = this.decided.get(picture)
    if (known !== undefined) return known
    // A frame older than one already decided: no layer change here, the switch point has passed.
    if (picture > this.newestDecided) {
      this.switchAt(info)
      this.newestDecided = picture
    }
    const forward = info.temporalId <= this.current
    this.decided.set(picture, forward)
    if (this.decided.size > PICTURE_WINDOW * 2) {
      for (const p of this.decided.keys()) if (p < this.newestDecided - PICTURE_WINDOW) this.decided.delete(p)
    }
    return forward
  }

  private switchAt(info: Vp8LayerInfo): void {
    if (this.target <= this.current) {
      this.current = this.target
      return
    }
    if (info.keyframe || info.temporalId === 0) {
      this.current = this.target
    } else if (info.layerSync && info.temporalId > this.current && info.temporalId <= this.target) {
      this.current = info.temporalId as TemporalLayer
    }
  }
}
