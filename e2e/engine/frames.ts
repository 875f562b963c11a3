/**
 * Synthetic encoded frames for engine tests: the engine is codec-agnostic apart from VP8's frame tag (its
 * P bit says key frame, RFC 6386 §9.1) and Opus' one-packet-per-frame rule, so the bytes are a tag, the
 * sender's uid, a frame index and filler derived from both; a receiver finds what was sent from the bytes.
 */
import type { RemoteFrame } from '../../src/shared/engine'

export const VIDEO_FRAME_US = 33_333
export const AUDIO_FRAME_US = 20_000

function filled(size: number, tag: number, uid: number, index: number): Uint8Array {
  const data = new Uint8Array(size)
  const view = new DataView(data.buffer)
  data[0] = tag
  view.setUint32(1, uid)
  view.setUint32(5, index)
  for (let i = 9; i < size; i++) data[i] = (uid * 7 + index * 13 + i) & 0xff
  return data
}

/** A "VP8" frame: key frames are large (many RTP packets), deltas vary in size. */
export function videoFrame(uid: number, index: number, keyframe: boolean): Uint8Array {
  const size = keyframe ? 12_000 + (index % 7) * 500 : 600 + ((index * 137) % 3000)
  return filled(size, keyframe ? 0x10 : 0x11, uid, index)
}

/** An "Opus" packet: TOC byte 0xf8 (20 ms CELT FB), then the marker and filler. */
export function audioFrame(uid: number, index: number): Uint8Array {
  return filled(60 + (index % 5) * 20, 0xf8, uid, index)
}

export function markerOf(frame: RemoteFrame): { uid: number; index: number } | undefined {
  if (frame.data.length < 9) return undefined
  const view = new DataView(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength)
  return { uid: view.getUint32(1), index: view.getUint32(5) }
}
