/**
 * Reading what an Opus packet (RFC 6716) says about itself, for tests that check the encoder's in-band FEC on
 * the wire: the TOC byte's mode, and the SILK layer's LBRR flag. A SILK or hybrid frame opens its range-coded
 * bitstream with one VAD flag per 20 ms SILK frame and then one LBRR flag per channel, each coded with
 * probability 1/2 (§4.2.3); LBRR set means the packet carries a low-bitrate copy of the previous frame (the
 * in-band FEC a libopus receiver decodes when that frame was lost). A tiny range decoder (§4.1) reads them.
 */

export type OpusMode = 'silk' | 'hybrid' | 'celt'

export interface OpusToc {
  config: number
  mode: OpusMode
  stereo: boolean
  /** Duration of one frame, microseconds. */
  frameUs: number
  /** TOC bits 0..1: 0 one frame, 1 two equal, 2 two different, 3 arbitrary count (§3.2). */
  code: number
}

/** §3.1 table 2: frame sizes of the 32 configurations. */
const SILK_FRAME_US = [10_000, 20_000, 40_000, 60_000]
const HYBRID_FRAME_US = [10_000, 20_000]
const CELT_FRAME_US = [2_500, 5_000, 10_000, 20_000]

export function parseToc(packet: Uint8Array): OpusToc {
  if (packet.length === 0) throw new RangeError('an Opus packet has at least its TOC byte')
  const toc = packet[0]!
  const config = toc >> 3
  const stereo = (toc & 0x04) !== 0
  const code = toc & 0x03
  if (config < 12) return { config, mode: 'silk', stereo, frameUs: SILK_FRAME_US[config % 4]!, code }
  if (config < 16) return { config, mode: 'hybrid', stereo, frameUs: HYBRID_FRAME_US[config % 2]!, code }
  return { config, mode: 'celt', stereo, frameUs: CELT_FRAME_US[config % 4]!, code }
}

/** The bytes of the packet's first frame (§3.2), where its range coder starts. */
export function firstFrame(packet: Uint8Array): Uint8Array {
  const { code } = parseToc(packet)
  if (code === 0) return packet.subarray(1)
  if (code === 1) return packet.subarray(1, 1 + Math.floor((packet.length - 1) / 2))
  if (code === 2) {
    const [length, at] = frameLength(packet, 1)
    return packet.subarray(at, at + length)
  }
  // Code 3: frame-count byte (VBR flag, padding flag, count), padding lengths, then frame lengths if VBR.
  const header = packet[1] ?? 0
  const vbr = (header & 0x80) !== 0
  const count = header & 0x3f
  let at = 2
  let padding = 0
  if ((header & 0x40) !== 0) {
    for (;;) {
      const byte = packet[at++] ?? 0
      padding += byte === 255 ? 254 : byte
      if (byte !== 255) break
    }
  }
  if (vbr) {
    // count - 1 lengths follow; the first frame starts after the last of them.
    const [length] = frameLength(packet, at)
    for (let i = 1; i < count; i++) at = frameLength(packet, at)[1]
    return packet.subarray(at, at + length)
  }
  return packet.subarray(at, at + Math.floor((packet.length - at - padding) / Math.max(count, 1)))
}

/** §3.2.1: a frame length in one or two bytes; returns [length, offset after it]. */
function frameLength(packet: Uint8Array, at: number): [number, number] {
  const first = packet[at] ?? 0
  if (first < 252) return [first, at + 1]
  return [first + 4 * (packet[at + 1] ?? 0), at + 2]
}

/** The range decoder of §4.1 (libopus ec_dec), only as far as binary symbols. */
export class RangeDecoder {
  private offset = 0
  private rng = 128
  private val: number
  private rem: number

  constructor(private readonly data: Uint8Array) {
    this.rem = this.readByte()
    this.val = 127 - (this.rem >> 1)
    this.normalize()
  }

  /** ec_dec_bit_logp: a bit whose value 1 has probability 1/2^logp. */
  bit(logp: number): boolean {
    const s = Math.floor(this.rng / 2 ** logp)
    const one = this.val < s
    if (one) this.rng = s
    else {
      this.val -= s
      this.rng -= s
    }
    this.normalize()
    return one
  }

  private readByte(): number {
    return this.offset < this.data.length ? this.data[this.offset++]! : 0
  }

  private normalize(): void {
    while (this.rng <= 2 ** 23) {
      this.rng *= 256
      const sym = ((this.rem << 8) | (this.rem = this.readByte())) >> 1
      this.val = (this.val * 256 + (255 & ~sym)) % 2 ** 31
    }
  }
}

export interface SilkFlags {
  vad: boolean[]
  lbrr: boolean
}

/**
 * The first channel's VAD flags and LBRR flag of a SILK or hybrid packet (mono, or the mid channel of a
 * stereo one); null for a CELT-only packet, which has no SILK layer.
 */
export function silkFlags(packet: Uint8Array): SilkFlags | null {
  const toc = parseToc(packet)
  if (toc.mode === 'celt') return null
  const silkFrames = Math.max(1, toc.frameUs / 20_000)
  const decoder = new RangeDecoder(firstFrame(packet))
  const vad = Array.from({ length: silkFrames }, () => decoder.bit(1))
  return { vad, lbrr: decoder.bit(1) }
}

/** True when the packet carries in-band FEC (LBRR) data. */
export function hasLbrr(packet: Uint8Array): boolean {
  return silkFlags(packet)?.lbrr ?? false
}
