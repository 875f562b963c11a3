/**
 * Which VP8 frames stay decodable after a loss when the sender marks temporal layers (RFC 7741 §4.2: TID,
 * Y, TL0PICIDX; docs/media.md "Recovery"). Chromium's L1T3 encoder (the pattern TL0, TL2, TL1, TL2) makes
 * every frame reference the last TL0 frame; the second TL2 frame of a group also references the group's
 * TL1 frame; TL2 frames are referenced by nothing. So a lost TL2 frame costs that frame only, a lost TL1
 * frame at most the next TL2 frame, and only a lost TL0 frame breaks the chain until a key frame. Without
 * this, any loss made the receiver skip every frame until a key frame it had to ask for.
 *
 * The rules only trust the descriptor: a frame with Y set references the base layer alone; a frame
 * without Y is decodable after a loss only when what it may reference (its group's TL0 frame, and for
 * TL2 its group's TL1 frame) was delivered. Pure: the assembler tells it what it delivered and lost.
 */

export interface FrameLayer {
  temporalLayerId: number
  tl0PicIdx: number
  layerSync: boolean
}

export type ChainVerdict = 'decodable' | 'skip' | 'broken'

export class LayerChain {
  /** TL0PICIDX of the last base-layer frame delivered; undefined until a key frame. */
  private tl0: number | undefined
  /** TL0PICIDX of the group whose TL1 frame was delivered. */
  private tl1Group: number | undefined
  /** A frame was lost since the group's TL0 frame. */
  private lossInGroup = false

  /** A key frame was delivered: it references nothing, and it is its group's TL0 frame. */
  keyFrame(layer: FrameLayer | undefined): void {
    this.tl0 = layer?.tl0PicIdx
    this.tl1Group = undefined
    this.lossInGroup = false
  }

  /** A frame (of any layer) was lost or given up. */
  lost(): void {
    this.lossInGroup = true
  }

  /** True when the chain holds: a key frame and every TL0 frame since were delivered. */
  get intact(): boolean {
    return this.tl0 !== undefined
  }

  /**
   * Whether `layer`'s frame can be decoded now. `gapBefore`: frames between the last one delivered and this
   * one are missing (not yet counted by `lost()`), so they may be anything this frame could reference.
   * `broken` means the base layer is gone (ask for a key frame); `skip` means only this frame is lost.
   */
  judge(layer: FrameLayer, gapBefore = false): ChainVerdict {
    if (this.tl0 === undefined) return 'broken'
    const loss = this.lossInGroup || gapBefore
    if (layer.temporalLayerId === 0)
      return layer.tl0PicIdx === ((this.tl0 + 1) & 0xff) ? 'decodable' : 'broken'
    if (layer.tl0PicIdx !== this.tl0) return 'broken' // its group's TL0 frame never came
    if (layer.layerSync || !loss) return 'decodable'
    if (layer.temporalLayerId === 2 && this.tl1Group === this.tl0) return 'decodable'
    return 'skip'
  }

  /** The frame `judge` called decodable was delivered. */
  delivered(layer: FrameLayer): void {
    if (layer.temporalLayerId === 0) {
      this.tl0 = layer.tl0PicIdx
      this.tl1Group = undefined
      this.lossInGroup = false
    } else if (layer.temporalLayerId === 1) {
      this.tl1Group = layer.tl0PicIdx
    }
  }

  /** The chain is gone (a TL0 frame lost, or a frame without layer marks lost): wait for a key frame. */
  reset(): void {
    this.tl0 = undefined
    this.tl1Group = undefined
    this.lossInGroup = false
  }
}
