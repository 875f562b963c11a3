import { type RtpPacket, Vp8Packetizer } from 'werift'

/**
 * VP8 over RTP (RFC 7741). Sending uses werift's packetizer (4-octet descriptor X=1 I=1 M=1, one
 * partition, marker on the last packet of a frame). Receiving parses the descriptor here: werift's
 * `Vp8RtpPayload` skips the TL0PICIDX/TID octets wrongly when L=1 and T=K=0, which Chromium can send.
 */

export const VP8_CLOCK_RATE = 90_000
/** RTP payload bytes per packet, descriptor included (TURN, SRTP and IP headers stay under 1280). */
export const DEFAULT_MAX_PAYLOAD = 1200

export interface Vp8Descriptor {
  /** S: the first packet of a VP8 partition. */
  start: boolean
  /** PID: the partition index. */
  partitionId: number
  pictureId?: number
  /** TID: the temporal layer (present when the T bit is set). */
  temporalLayerId?: number
  /** Y: a layer sync frame, which references only the base layer (present with TID). */
  layerSync?: boolean
  /** TL0PICIDX (present when the L bit is set). */
  tl0PicIdx?: number
  /** Octets before the VP8 payload. */
  length: number
}

/** RFC 7741 §4.2. Undefined when the payload is too short for the descriptor it announces. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor | undefined {
  const first = payload[0]
  if (first === undefined) return undefined
  const descriptor: Vp8Descriptor = { start: (first & 0x10) !== 0, partitionId: first & 0x07, length: 1 }
  if ((first & 0x80) === 0) return payload.length > 1 ? descriptor : undefined
  const ext = payload[1]
  if (ext === undefined) return undefined
  let offset = 2
  if (ext & 0x80) {
    const pid = payload[offset]
    if (pid === undefined) return undefined
    if (pid & 0x80) {
      const low = payload[offset + 1]
      if (low === undefined) return undefined
      descriptor.pictureId = ((pid & 0x7f) << 8) | low
      offset += 2
    } else {
      descriptor.pictureId = pid & 0x7f
      offset += 1
    }
  }
  if (ext & 0x40) {
    const tl0 = payload[offset]
    if (tl0 !== undefined) descriptor.tl0PicIdx = tl0
    offset += 1
  }
  if (ext & 0x30) {
    // T or K: TID | Y | KEYIDX; TID and Y mean something only with T.
    const tid = payload[offset]
    if (tid !== undefined && ext & 0x20) {
      descriptor.temporalLayerId = tid >> 6
      descriptor.layerSync = (tid & 0x20) !== 0
    }
    offset += 1
  }
  if (payload.length <= offset) return undefined
  descriptor.length = offset
  return descriptor
}

/**
 * A key frame has P = 0 in the first octet of the VP8 payload header, present at the start of partition 0
 * (RFC 7741 §4.3, RFC 6386 §9.1).
 */
export function isVp8KeyFrame(frame: Uint8Array): boolean {
  const tag = frame[0]
  return tag !== undefined && (tag & 0x01) === 0
}

/**
 * The picture size a key frame announces (RFC 6386 §9.1: after the 3-octet frame tag, the start code
 * 9d 01 2a, then width and height as 14-bit little-endian values with 2 scaling bits on top). Undefined for
 * a delta frame or a truncated header.
 */
export function vp8KeyFrameSize(frame: Uint8Array): { width: number; height: number } | undefined {
  if (frame.length < 10 || !isVp8KeyFrame(frame)) return undefined
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff
  return width > 0 && height > 0 ? { width, height } : undefined
}

export interface PacketizerOptions {
  maxPayloadSize?: number
  payloadType: number
  /** The first sequence number (default random, RFC 3550 §5.1). */
  sequenceNumber?: number
}

/** One encoded VP8 frame → RTP packets (werift's packetizer; it numbers packets from a random start). */
export class Vp8Sender {
  private readonly packetizer: Vp8Packetizer

  constructor(options: PacketizerOptions) {
    this.packetizer = new Vp8Packetizer({
      maxPayloadSize: options.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD,
      payloadType: options.payloadType,
      ...(options.sequenceNumber === undefined ? {} : { sequenceNumber: options.sequenceNumber }),
    })
  }

  packetize(frame: Uint8Array, rtpTimestamp: number): RtpPacket[] {
    return this.packetizer.packetize(asBuffer(frame), rtpTimestamp)
  }
}

/** A Buffer view of the same bytes (no copy). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}
