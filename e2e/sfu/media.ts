import { Vp8RtpPayload } from 'werift'
import type { MediaKind } from '../../src/shared/signaling'

/**
 * Synthetic Opus and VP8 RTP payloads that can be checked end to end. Every payload carries a marker —
 * the publisher's uid, a per-track packet counter, the frame number, a keyframe flag — and filler bytes
 * derived from them, so a receiver detects any corruption or misattribution. Video payloads start with a
 * real VP8 payload descriptor (RFC 7741 §4.2) and, on a frame's first packet, a VP8 payload header whose
 * P bit marks keyframes (RFC 7741 §4.3), followed on keyframes by the start code 9d 01 2a and a size.
 */

const MAGIC = 0x5048 // "PH"
const MARKER_BYTES = 15
const VP8_KEYFRAME_HEADER = 10
const VP8_INTERFRAME_HEADER = 3

export interface Marker {
  uid: number
  counter: number
  frame: number
  keyframe: boolean
}

function writeMarker(buf: Buffer, offset: number, marker: Marker): void {
  buf.writeUInt16BE(MAGIC, offset)
  buf.writeUInt32BE(marker.uid, offset + 2)
  buf.writeUInt32BE(marker.counter, offset + 6)
  buf.writeUInt32BE(marker.frame, offset + 10)
  buf.writeUInt8(marker.keyframe ? 1 : 0, offset + 14)
  for (let i = offset + MARKER_BYTES; i < buf.length; i++) buf[i] = (marker.uid + marker.counter + i) & 0xff
}

function readMarker(buf: Buffer, offset: number, verify: boolean): Marker | undefined {
  if (buf.length < offset + MARKER_BYTES || buf.readUInt16BE(offset) !== MAGIC) return undefined
  const marker: Marker = {
    uid: buf.readUInt32BE(offset + 2),
    counter: buf.readUInt32BE(offset + 6),
    frame: buf.readUInt32BE(offset + 10),
    keyframe: buf.readUInt8(offset + 14) === 1,
  }
  if (!verify) return marker
  for (let i = offset + MARKER_BYTES; i < buf.length; i++) {
    if (buf[i] !== ((marker.uid + marker.counter + i) & 0xff)) return undefined
  }
  return marker
}

/** One Opus packet: a TOC byte (config 31, mono, one frame — 20 ms CELT FB) then the marker. */
export function audioPayload(uid: number, counter: number, bytes = 80): Buffer {
  const buf = Buffer.alloc(Math.max(bytes, 1 + MARKER_BYTES))
  buf[0] = 0xf8
  writeMarker(buf, 1, { uid, counter, frame: counter, keyframe: false })
  return buf
}

/**
 * The RTP payloads of one VP8 frame of about `frameBytes`, split in packets of at most `mtu` bytes.
 * `firstCounter` numbers the first packet; the next ones follow.
 */
export function videoFramePayloads(
  uid: number,
  frame: number,
  firstCounter: number,
  keyframe: boolean,
  frameBytes = 1000,
  mtu = 1100,
): Buffer[] {
  const count = Math.max(1, Math.ceil(frameBytes / mtu))
  const size = Math.max(Math.ceil(frameBytes / count), VP8_KEYFRAME_HEADER + 1 + MARKER_BYTES)
  const payloads: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const buf = Buffer.alloc(size)
    const start = i === 0
    // Descriptor: X=0, N=0, S=start, PID=0.
    buf[0] = start ? 0x10 : 0x00
    let offset = 1
    if (start) {
      // Payload header: size0=0, show_frame=1, version 0, P = 0 for a keyframe.
      buf[1] = 0x10 | (keyframe ? 0 : 1)
      buf[2] = 0
      buf[3] = 0
      offset = 1 + VP8_INTERFRAME_HEADER
      if (keyframe) {
        buf.set([0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00], offset) // start code, 320 × 240
        offset = 1 + VP8_KEYFRAME_HEADER
      }
    }
    writeMarker(buf, offset, { uid, counter: firstCounter + i, frame, keyframe })
    payloads.push(buf)
  }
  return payloads
}

/** Parses and checks a received payload; undefined when it is not intact (`verify`: check the filler too). */
export function parsePayload(
  kind: MediaKind,
  payload: Buffer,
  verify = true,
): (Marker & { frameStart: boolean }) | undefined {
  if (kind === 'audio') {
    const marker = readMarker(payload, 1, verify)
    return marker && { ...marker, frameStart: true }
  }
  const vp8 = Vp8RtpPayload.deSerialize(payload)
  const frameStart = vp8.isPartitionHead && vp8.pid === 0
  let offset = 1
  if (frameStart) {
    offset += VP8_INTERFRAME_HEADER
    if (vp8.isKeyframe) {
      const startCode = payload.subarray(offset, offset + 3)
      if (!startCode.equals(Buffer.from([0x9d, 0x01, 0x2a]))) return undefined
      offset = 1 + VP8_KEYFRAME_HEADER
    }
  }
  const marker = readMarker(payload, offset, verify)
  if (!marker) return undefined
  // The VP8 bitstream's own keyframe flag must agree with the marker.
  if (frameStart && vp8.isKeyframe !== marker.keyframe) return undefined
  return { ...marker, frameStart }
}
