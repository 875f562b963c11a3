import { OpusPacketizer, type RtpPacket } from 'werift'
import { Unwrapper } from './sequence'
import { asBuffer, DEFAULT_MAX_PAYLOAD, type PacketizerOptions } from './vp8'

/**
 * Opus over RTP (RFC 7587): one Opus packet per RTP packet, no payload header, never split (§4.2); the
 * marker flags the first packet of a talkspurt. Sending uses werift's packetizer.
 */

export const OPUS_CLOCK_RATE = 48_000

export class OpusSender {
  private readonly packetizer: OpusPacketizer

  constructor(options: PacketizerOptions) {
    this.packetizer = new OpusPacketizer({
      maxPayloadSize: options.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD,
      payloadType: options.payloadType,
    })
  }

  /** Throws a RangeError for an Opus packet larger than one RTP payload (RFC 7587 forbids splitting). */
  packetize(frame: Uint8Array, rtpTimestamp: number): RtpPacket[] {
    try {
      return this.packetizer.packetize(asBuffer(frame), rtpTimestamp)
    } catch (error) {
      throw new RangeError(`Opus packet of ${frame.length} bytes does not fit one RTP packet`, {
        cause: error,
      })
    }
  }
}

export interface OpusFrame {
  data: Uint8Array
  rtpTimestamp: number
}

/**
 * The receiving side: each packet is a frame. Duplicates and packets older than the last one delivered
 * are dropped (a decoder takes frames in order; a late audio packet is better skipped than replayed).
 */
export class OpusReceiver {
  private readonly sequence = new Unwrapper(16)
  private last: number | undefined

  push(packet: { sequenceNumber: number; timestamp: number; payload: Uint8Array }): OpusFrame | undefined {
    const seq = this.sequence.unwrap(packet.sequenceNumber)
    if (this.last !== undefined && seq <= this.last) return undefined
    if (packet.payload.length === 0) return undefined
    this.last = seq
    return { data: packet.payload, rtpTimestamp: packet.timestamp }
  }
}
