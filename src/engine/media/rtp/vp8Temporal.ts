import { PacketizerBase, type RtpPacket } from 'werift'
import { DEFAULT_MAX_PAYLOAD, type PacketizerOptions } from './vp8'

/**
 * VP8 over RTP with temporal layers (RFC 7741 §4.2; docs/media.md "Temporal layers and per-subscriber
 * forwarding"). One packetizer numbers every frame (sequence numbers, 15-bit PictureID), layered or not:
 *
 * - A frame without a temporal layer id gets the descriptor werift's `Vp8Packetizer` writes: X=1, I=1 with
 *   a 15-bit PictureID, L=T=K=0 (4 octets) — packets exactly as before layers existed.
 * - A frame with one (WebCodecs `metadata.svc.temporalLayerId`, L1T3) also gets L=1 and T=1 (6 octets):
 *   TL0PICIDX, +1 at every base-layer frame, carried by the frames above it; TID; and Y, the layer-sync
 *   bit, set as libwebrtc sets it for L1T3 (pattern 0 2 1 2): on the first TL1 and the first TL2 frame
 *   after each TL0 frame, the frames that reference only the base layer. The conference server switches a
 *   subscriber up one layer at a frame with Y (src/sfu/media/layerForwarder.ts), and Chromium's receiver
 *   holds upper-layer frames back until it sees one after a switch. K=0: no KEYIDX.
 */

export type TemporalLayerId = 0 | 1 | 2

/** Octets of the descriptor: X, I (2 octets, M=1) and, with layers, TL0PICIDX and TID|Y|KEYIDX. */
const PLAIN_DESCRIPTOR = 4
const LAYERED_DESCRIPTOR = 6

export class Vp8TemporalSender extends PacketizerBase {
  private pictureId: number
  private tl0PicIdx: number
  /** The layers that already had a frame since the last TL0 frame (their next frames are not sync points). */
  private readonly sinceBase = new Set<number>()

  constructor(options: PacketizerOptions & { pictureId?: number; tl0PicIdx?: number }) {
    super({ ...options, maxPayloadSize: options.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD })
    this.pictureId = (options.pictureId ?? Math.floor(Math.random() * 0x8000)) & 0x7fff
    this.tl0PicIdx = (options.tl0PicIdx ?? Math.floor(Math.random() * 0x100)) & 0xff
  }

  /** One encoded frame → its RTP packets, the marker on the last. */
  packetize(data: Uint8Array, rtpTimestamp: number, temporalLayerId?: TemporalLayerId): RtpPacket[] {
    if (data.length === 0) return []
    const layered = temporalLayerId !== undefined
    const descriptor = Buffer.alloc(layered ? LAYERED_DESCRIPTOR : PLAIN_DESCRIPTOR)
    descriptor[0] = 0x80 // X; S is set on the first packet below
    descriptor[1] = layered ? 0xe0 : 0x80 // I, and L and T with layers
    descriptor[2] = 0x80 | (this.pictureId >> 8)
    descriptor[3] = this.pictureId & 0xff
    if (layered) {
      descriptor[4] = this.nextTl0PicIdx(temporalLayerId)
      descriptor[5] = (temporalLayerId << 6) | (this.layerSync(temporalLayerId) ? 0x20 : 0)
    }
    this.pictureId = (this.pictureId + 1) & 0x7fff
    const chunkSize = this.maxPayloadSize - descriptor.length
    const frame = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    const packets: RtpPacket[] = []
    for (let offset = 0; offset < frame.length; offset += chunkSize) {
      const chunk = frame.subarray(offset, Math.min(frame.length, offset + chunkSize))
      const head = Buffer.from(descriptor)
      if (offset === 0) head[0] = 0x90 // S=1, PID=0: the start of the frame
      const last = offset + chunk.length >= frame.length
      packets.push(this.buildPacket(Buffer.concat([head, chunk]), rtpTimestamp, last))
    }
    return packets
  }

  private nextTl0PicIdx(layer: TemporalLayerId): number {
    if (layer === 0) this.tl0PicIdx = (this.tl0PicIdx + 1) & 0xff
    return this.tl0PicIdx
  }

  private layerSync(layer: TemporalLayerId): boolean {
    if (layer === 0) {
      this.sinceBase.clear()
      return false
    }
    const first = !this.sinceBase.has(layer)
    this.sinceBase.add(layer)
    return first
  }
}
