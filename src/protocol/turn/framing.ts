import { CHANNEL_MAX, CHANNEL_MIN, HEADER_LENGTH } from '../stun/constants'

/**
 * TURN over TCP/TLS framing (RFC 8656 §12.5, RFC 8489 §6.2.2). A stream carries STUN messages and ChannelData
 * messages back to back, each self-delimiting by its first four bytes:
 *
 *   STUN         00xxxxxx xxxxxxxx | length | …   total = 20 + length (a multiple of 4)
 *   ChannelData  01xxxxxx xxxxxxxx | length | …   total = 4 + length, then padding to a multiple of 4
 *
 * Anything else cannot be resynchronised, so it is an error that ends the connection. This is the per-packet
 * path for TCP clients: whole frames are handed out as views of the chunk they arrived in (no copy), and
 * only a frame split across chunks is copied, once, into a buffer of its exact size.
 */
export type FramingError = 'invalid frame' | 'oversized frame'

export interface PushResult {
  /** Complete frames in order: a whole STUN message, or a ChannelData header + data (padding removed). */
  frames: readonly Buffer[]
  /** Set once the stream is unusable; the caller closes the connection. Sticky. */
  error?: FramingError
}

export interface TcpFramerOptions {
  /** Largest frame accepted, padding excluded; a frame declaring more is an 'oversized frame'. */
  maxFrameBytes: number
}

const CHANNEL_DATA_HEADER = 4
const INVALID = -1
const OVERSIZED = -2

export class TcpFramer {
  private readonly maxFrameBytes: number
  /** Up to three bytes of a frame header that ended a chunk. */
  private readonly header = Buffer.alloc(CHANNEL_DATA_HEADER)
  private headerHave = 0
  /** A frame whose header we know but whose body is still arriving: exact size, filled up to frameHave. */
  private frame: Buffer | undefined
  private frameHave = 0
  /** Padding of the current partial frame, to skip once it completes. */
  private framePad = 0
  /** Padding bytes still to skip before the next frame. */
  private skip = 0
  private since: number | undefined
  private failed: FramingError | undefined

  constructor(options: TcpFramerOptions) {
    const max = options.maxFrameBytes
    if (!Number.isInteger(max) || max < HEADER_LENGTH) {
      throw new RangeError(`maxFrameBytes must be an integer ≥ ${HEADER_LENGTH}, got ${max}`)
    }
    this.maxFrameBytes = max
  }

  /**
   * Feeds the next chunk of the stream. Returned frames may be views into `chunk`, so the chunk must not be
   * reused afterwards (Node hands every 'data' event a fresh Buffer unless a socket is given `onread`).
   */
  push(chunk: Buffer, nowMs: number): PushResult {
    if (this.failed) return { frames: [], error: this.failed }
    const frames: Buffer[] = []
    let offset = 0
    const end = chunk.length

    while (offset < end) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - offset)
        this.skip -= n
        offset += n
        continue
      }
      if (this.frame) {
        const n = Math.min(this.frame.length - this.frameHave, end - offset)
        chunk.copy(this.frame, this.frameHave, offset, offset + n)
        this.frameHave += n
        offset += n
        if (this.frameHave === this.frame.length) frames.push(this.completeFrame())
        continue
      }
      if (this.headerHave > 0) {
        const n = Math.min(CHANNEL_DATA_HEADER - this.headerHave, end - offset)
        chunk.copy(this.header, this.headerHave, offset, offset + n)
        this.headerHave += n
        offset += n
        if (this.headerHave < CHANNEL_DATA_HEADER) break
        this.headerHave = 0
        const total = this.frameSize(this.header, 0)
        if (total < 0) return this.fail(total, frames)
        this.frame = Buffer.allocUnsafe(total)
        this.header.copy(this.frame, 0)
        this.frameHave = CHANNEL_DATA_HEADER
        this.framePad = padding(total)
        if (total === CHANNEL_DATA_HEADER) frames.push(this.completeFrame()) // empty ChannelData
        continue
      }

      // At a frame boundary: the common case, a whole frame inside this chunk.
      this.since = undefined
      const remaining = end - offset
      if (remaining < CHANNEL_DATA_HEADER) {
        chunk.copy(this.header, 0, offset, end)
        this.headerHave = remaining
        break
      }
      const total = this.frameSize(chunk, offset)
      if (total < 0) return this.fail(total, frames)
      if (remaining >= total) {
        frames.push(chunk.subarray(offset, offset + total))
        offset += total
        this.skip = padding(total)
        continue
      }
      this.frame = Buffer.allocUnsafe(total)
      chunk.copy(this.frame, 0, offset, end)
      this.frameHave = remaining
      this.framePad = padding(total)
      break
    }

    if (this.headerHave === 0 && this.frame === undefined && this.skip === 0) this.since = undefined
    else this.since ??= nowMs
    return { frames }
  }

  /** When the frame we are in the middle of started arriving; undefined at a frame boundary. */
  pendingSince(): number | undefined {
    return this.since
  }

  private completeFrame(): Buffer {
    const frame = this.frame!
    this.frame = undefined
    this.frameHave = 0
    this.skip = this.framePad
    this.framePad = 0
    return frame
  }

  /** The frame's size from its first four bytes, padding excluded; INVALID or OVERSIZED otherwise. */
  private frameSize(buf: Buffer, at: number): number {
    const first = buf[at]! & 0xc0
    const length = buf.readUInt16BE(at + 2)
    let total: number
    if (first === 0x00) {
      // RFC 8489 §5: attributes are padded, so the last two bits of a STUN length are always zero.
      if ((length & 3) !== 0) return INVALID
      total = HEADER_LENGTH + length
    } else if (first === 0x40) {
      total = CHANNEL_DATA_HEADER + length
    } else {
      return INVALID
    }
    return total > this.maxFrameBytes ? OVERSIZED : total
  }

  private fail(code: number, frames: Buffer[]): PushResult {
    this.failed = code === OVERSIZED ? 'oversized frame' : 'invalid frame'
    this.frame = undefined
    this.headerHave = 0
    this.skip = 0
    this.since = undefined
    return { frames, error: this.failed }
  }
}

/** Bytes of padding after a frame of `total` bytes on a stream (0 for STUN, whose total is a multiple of 4). */
function padding(total: number): number {
  return (4 - (total & 3)) & 3
}

/**
 * A ChannelData message (RFC 8656 §12.4). Over TCP/TLS it must be padded to a multiple of 4 (§12.5); over
 * UDP padding is optional and we leave it out.
 */
export function encodeChannelData(channel: number, data: Buffer, padForStream: boolean): Buffer {
  if (!Number.isInteger(channel) || channel < CHANNEL_MIN || channel > CHANNEL_MAX) {
    throw new RangeError(`channel must be 0x4000–0x7FFF, got ${channel}`)
  }
  if (data.length > 0xffff)
    throw new RangeError(`ChannelData carries at most 65535 bytes, got ${data.length}`)
  const total = CHANNEL_DATA_HEADER + data.length
  const out = Buffer.allocUnsafe(padForStream ? total + padding(total) : total)
  out.writeUInt16BE(channel, 0)
  out.writeUInt16BE(data.length, 2)
  data.copy(out, CHANNEL_DATA_HEADER)
  out.fill(0, total)
  return out
}

/**
 * Reads a ChannelData message from a datagram (or a frame from TcpFramer). The datagram must hold at least
 * 4 + length bytes (RFC 8656 §12.6: shorter is silently discarded) and at most that rounded up to a multiple
 * of 4 (the optional padding); anything longer is malformed. Returns a view of `buf`, or undefined.
 */
export function decodeChannelData(buf: Buffer): { channel: number; data: Buffer } | undefined {
  if (buf.length < CHANNEL_DATA_HEADER) return undefined
  const channel = buf.readUInt16BE(0)
  if (channel < CHANNEL_MIN || channel > CHANNEL_MAX) return undefined
  const total = CHANNEL_DATA_HEADER + buf.readUInt16BE(2)
  if (buf.length < total || buf.length > total + padding(total)) return undefined
  return { channel, data: buf.subarray(CHANNEL_DATA_HEADER, total) }
}
