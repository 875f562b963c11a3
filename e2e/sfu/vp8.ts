import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RtpPacket } from 'werift'
import { requireTool } from '../support/tools'

/**
 * Real VP8 for the media tests: streams encoded by Debian's ffmpeg (libvpx) into IVF files, the IVF
 * container (read and write), a VP8 RTP depacketizer and frame assembler written from RFC 7741 (the
 * packetizer on the sending side is werift's, so the two halves are independent), and decoding with ffmpeg.
 */

const IVF_SIGNATURE = 'DKIF'
const IVF_HEADER_BYTES = 32
const IVF_FRAME_HEADER_BYTES = 12
const VP8_START_CODE = Buffer.from([0x9d, 0x01, 0x2a])

export interface Ivf {
  fourcc: string
  width: number
  height: number
  /** Time base: `timebaseNum / timebaseDen` seconds per pts unit. */
  timebaseDen: number
  timebaseNum: number
  frames: Buffer[]
}

/** Parses an IVF file: a 32-byte header, then per frame a 12-byte header (size, pts) and the frame. */
export function parseIvf(buf: Buffer): Ivf {
  if (buf.length < IVF_HEADER_BYTES || buf.toString('latin1', 0, 4) !== IVF_SIGNATURE)
    throw new Error('not an IVF file')
  const headerBytes = buf.readUInt16LE(6)
  const ivf: Ivf = {
    fourcc: buf.toString('latin1', 8, 12),
    width: buf.readUInt16LE(12),
    height: buf.readUInt16LE(14),
    timebaseDen: buf.readUInt32LE(16),
    timebaseNum: buf.readUInt32LE(20),
    frames: [],
  }
  let offset = headerBytes
  while (offset + IVF_FRAME_HEADER_BYTES <= buf.length) {
    const size = buf.readUInt32LE(offset)
    const start = offset + IVF_FRAME_HEADER_BYTES
    if (start + size > buf.length) throw new Error(`IVF frame ${ivf.frames.length} is truncated`)
    ivf.frames.push(buf.subarray(start, start + size))
    offset = start + size
  }
  return ivf
}

/** An IVF file of VP8 `frames` at `fps` (pts = frame index). */
export function writeIvf(frames: readonly Buffer[], width: number, height: number, fps = 30): Buffer {
  const header = Buffer.alloc(IVF_HEADER_BYTES)
  header.write(IVF_SIGNATURE, 0, 'latin1')
  header.writeUInt16LE(0, 4)
  header.writeUInt16LE(IVF_HEADER_BYTES, 6)
  header.write('VP80', 8, 'latin1')
  header.writeUInt16LE(width, 12)
  header.writeUInt16LE(height, 14)
  header.writeUInt32LE(fps, 16)
  header.writeUInt32LE(1, 20)
  header.writeUInt32LE(frames.length, 24)
  const parts: Buffer[] = [header]
  frames.forEach((frame, pts) => {
    const frameHeader = Buffer.alloc(IVF_FRAME_HEADER_BYTES)
    frameHeader.writeUInt32LE(frame.length, 0)
    frameHeader.writeBigUInt64LE(BigInt(pts), 4)
    parts.push(frameHeader, frame)
  })
  return Buffer.concat(parts)
}

/** A VP8 keyframe: P bit (frame tag bit 0) clear and the start code after the 3-byte tag (RFC 6386 §9.1). */
export function isVp8Keyframe(frame: Buffer): boolean {
  return frame.length >= 10 && (frame[0]! & 0x01) === 0 && frame.subarray(3, 6).equals(VP8_START_CODE)
}

/** Width and height coded in a keyframe's header (14 bits each, scaling bits dropped). */
export function vp8KeyframeSize(frame: Buffer): { width: number; height: number } {
  if (!isVp8Keyframe(frame)) throw new Error('not a VP8 keyframe')
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff }
}

export interface Vp8Packet {
  /** S bit: first packet of a VP8 partition. */
  start: boolean
  /** Partition index. */
  pid: number
  /** The VP8 bitstream bytes after the payload descriptor. */
  data: Buffer
}

/** Strips the VP8 payload descriptor (RFC 7741 §4.2) from an RTP payload. */
export function depacketizeVp8(payload: Buffer): Vp8Packet {
  if (payload.length < 1) throw new Error('empty VP8 payload')
  const first = payload[0]!
  let offset = 1
  if (first & 0x80) {
    // X: I L T K RSV
    const ext = payload[offset++]
    if (ext === undefined) throw new Error('truncated VP8 payload descriptor')
    if (ext & 0x80) offset += payload[offset]! & 0x80 ? 2 : 1 // PictureID, 7 or 15 bits (M)
    if (ext & 0x40) offset += 1 // TL0PICIDX
    if (ext & 0x30) offset += 1 // TID|Y|KEYIDX
  }
  if (offset > payload.length) throw new Error('truncated VP8 payload descriptor')
  return { start: (first & 0x10) !== 0, pid: first & 0x07, data: payload.subarray(offset) }
}

export interface Vp8Frame {
  timestamp: number
  keyframe: boolean
  data: Buffer
}

/**
 * Reassembles VP8 frames from RTP packets in any order: a frame is complete when its packets, all with one
 * RTP timestamp, run without a gap in sequence numbers from a start packet (S=1, PID=0) to the marker.
 */
export class Vp8FrameAssembler {
  private readonly pending = new Map<number, Map<number, { packet: Vp8Packet; marker: boolean }>>()
  private readonly done = new Set<number>()

  /** Adds a packet; returns the frame it completes, if any. */
  push(packet: RtpPacket): Vp8Frame | undefined {
    const { timestamp, sequenceNumber, marker } = packet.header
    if (this.done.has(timestamp)) return undefined
    let packets = this.pending.get(timestamp)
    if (!packets) {
      packets = new Map()
      this.pending.set(timestamp, packets)
      if (this.pending.size > 64) this.pending.delete(this.pending.keys().next().value!)
    }
    packets.set(sequenceNumber, { packet: depacketizeVp8(packet.payload), marker })
    const first = [...packets].find(([, p]) => p.packet.start && p.packet.pid === 0)
    const last = [...packets].find(([, p]) => p.marker)
    if (!first || !last) return undefined
    const count = ((last[0] - first[0]) & 0xffff) + 1
    const parts: Buffer[] = []
    for (let i = 0; i < count; i++) {
      const part = packets.get((first[0] + i) & 0xffff)
      if (!part) return undefined
      parts.push(part.packet.data)
    }
    this.pending.delete(timestamp)
    this.done.add(timestamp)
    const data = Buffer.concat(parts)
    return { timestamp, keyframe: isVp8Keyframe(data), data }
  }
}

function run(file: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

export const TEST_VIDEO = { width: 640, height: 360, fps: 30 }

/**
 * Encodes `seconds` of ffmpeg's test pattern to VP8 in `dir/name.ivf` with libvpx in realtime mode and
 * parses it. `gop` 1 makes every frame a keyframe; a large one, a single keyframe then inter frames only.
 */
export async function encodeTestVideo(dir: string, name: string, seconds: number, gop: number): Promise<Ivf> {
  const ffmpeg = requireTool('ffmpeg')
  const { width, height, fps } = TEST_VIDEO
  const path = join(dir, `${name}.ivf`)
  // One thread each: the two encodes run side by side on a two-core machine.
  await run(ffmpeg, [
    ...[
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${width}x${height}:rate=${fps}`,
      '-t',
      `${seconds}`,
    ],
    ...['-c:v', 'libvpx', '-threads', '1', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M'],
    ...['-g', `${gop}`, '-keyint_min', `${gop}`, '-auto-alt-ref', '0', '-f', 'ivf', '-y', path],
  ])
  return parseIvf(await readFile(path))
}

/** Width and height of a PNG, from its IHDR chunk (PNG spec §11.2.2). */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  if (!png.subarray(0, 8).equals(signature) || png.toString('latin1', 12, 16) !== 'IHDR')
    throw new Error('not a PNG')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

/**
 * Decodes the first frame of `ivfPath` into `pngPath` with libvpx's decoder through ffmpeg, exiting on the
 * first decoding error; resolves with ffmpeg's error output (empty when the frame decoded cleanly) and the
 * picture. libvpx, not ffmpeg's own VP8 decoder: that one decodes a keyframe cut in half without a word.
 */
export async function decodeFirstFrame(
  ivfPath: string,
  pngPath: string,
): Promise<{ stderr: string; png: Buffer }> {
  const ffmpeg = requireTool('ffmpeg')
  const { stderr } = await run(ffmpeg, [
    ...[
      '-v',
      'error',
      '-xerror',
      '-c:v',
      'libvpx',
      '-i',
      ivfPath,
      '-frames:v',
      '1',
      '-f',
      'image2',
      '-y',
      pngPath,
    ],
  ])
  return { stderr, png: await readFile(pngPath) }
}
