/**
 * The fields of a VP8 RTP payload descriptor (RFC 7741 §4.2) a temporal-layer forwarder reads and
 * rewrites, with their offsets so they can be rewritten in a copy of the payload.
 *
 *   |X|R|N|S|R| PID |   X: |I|L|T|K| RSV |   I: |M| PictureID (7 or 15 bits) |
 *   L: | TL0PICIDX |   T/K: |TID|Y| KEYIDX |
 */

export interface Vp8LayerInfo {
  /** S and PID = 0: the first packet of a frame (the one carrying the VP8 payload header). */
  frameStart: boolean
  /** P = 0 in the VP8 payload header of a frame's first packet (RFC 7741 §4.3). */
  keyframe: boolean
  /** Absent when I = 0: such a stream cannot be thinned (frames cannot be told apart safely). */
  pictureId?: number
  /** 7 or 15 (M bit). */
  pictureIdBits: number
  pictureIdOffset: number
  tl0PicIdx?: number
  /** T = 1: the publisher encodes with temporal layers (docs/sfu.md "Temporal-layer forwarding"). */
  layered: boolean
  /** TID; 0 when T = 0 (a stream without temporal layers is all base layer). */
  temporalId: number
  /** Y: this frame depends only on the base layer, a switching-up point to its TID. */
  layerSync: boolean
}

/** Undefined when the payload is shorter than the descriptor it announces (nothing to rewrite safely). */
export function parseVp8LayerInfo(payload: Uint8Array): Vp8LayerInfo | undefined {
  const first = payload[0]
  if (first === undefined) return undefined
  const info: Vp8LayerInfo = {
    frameStart: (first & 0x10) !== 0 && (first & 0x07) === 0,
    keyframe: false,
    pictureIdBits: 0,
    pictureIdOffset: -1,
    layered: false,
    temporalId: 0,
    layerSync: false,
  }
  let offset = 1
  if (first & 0x80) {
    const ext = payload[1]
    if (ext === undefined) return undefined
    offset = 2
    if (ext & 0x80) offset = readPictureId(payload, offset, info)
    if (offset < 0) return undefined
    if (ext & 0x40) {
      info.tl0PicIdx = payload[offset]
      offset += 1
    }
    if (ext & 0x30) {
      const tk = payload[offset]
      if (tk === undefined) return undefined
      if (ext & 0x20) {
        info.layered = true
        info.temporalId = tk >> 6
        info.layerSync = (tk & 0x20) !== 0
      }
      offset += 1
    }
  }
  const header = payload[offset]
  if (header === undefined) return undefined
  info.keyframe = info.frameStart && (header & 0x01) === 0
  return info
}

/** Reads the I octet(s) at `offset`; the offset after them, or -1 when the payload ends inside. */
function readPictureId(payload: Uint8Array, offset: number, info: Vp8LayerInfo): number {
  const high = payload[offset]
  if (high === undefined) return -1
  info.pictureIdOffset = offset
  if ((high & 0x80) === 0) {
    info.pictureId = high & 0x7f
    info.pictureIdBits = 7
    return offset + 1
  }
  const low = payload[offset + 1]
  if (low === undefined) return -1
  info.pictureId = ((high & 0x7f) << 8) | low
  info.pictureIdBits = 15
  return offset + 2
}

/** Writes `pictureId` (already reduced to the field's width) in place, keeping the M bit. */
export function writePictureId(payload: Uint8Array, info: Vp8LayerInfo, pictureId: number): void {
  const at = info.pictureIdOffset
  if (info.pictureIdBits === 15) {
    payload[at] = 0x80 | ((pictureId >> 8) & 0x7f)
    payload[at + 1] = pictureId & 0xff
  } else if (info.pictureIdBits === 7) {
    payload[at] = pictureId & 0x7f
  }
}
