import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RtpPacket } from 'werift'
import { describe, expect, it } from 'vitest'
import { OPUS_CLOCK_RATE, OpusReceiver, OpusSender } from './opus'
import { LocalMediaClock } from './sequence'
import { DEFAULT_MAX_PAYLOAD, isVp8KeyFrame, VP8_CLOCK_RATE, Vp8Sender } from './vp8'
import { Vp8Assembler, type AssembledFrame } from './vp8Assembler'

/**
 * The packetizers against real encoder output: chunks from Chromium's WebCodecs (VP8 640x360 realtime with
 * a key frame forced mid-stream, and Opus 48 kHz stereo) saved in testdata/webcodecs by
 * `npx tsx e2e/support/webcodecsFixtures.ts`. Every chunk goes out as RTP packets (serialized and parsed
 * again, as on the wire) and must come back byte for byte.
 */

interface Chunk {
  type: 'key' | 'delta'
  timestamp: number
  duration: number | null
  bytes: string
}

interface Fixture {
  codec: string
  chunks: Chunk[]
}

// process.cwd() is the repo root under vitest.
function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(process.cwd(), 'testdata/webcodecs', name), 'utf8')) as Fixture
}

const video = fixture('vp8-640x360.json')
const audio = fixture('opus-48k-stereo.json')
const bytesOf = (chunk: Chunk): Buffer => Buffer.from(chunk.bytes, 'base64')
/** 48 000 ticks before the 32-bit wrap: the video timestamps wrap at 16 frames, the audio at 50. */
const RTP_OFFSET = 2 ** 32 - 48_000
/** RTP header (12 octets, no CSRC or extension) plus the largest payload. */
const MAX_PACKET = 12 + DEFAULT_MAX_PAYLOAD

function expectedRtp(timestampUs: number, firstUs: number, clockRate: number): number {
  return (RTP_OFFSET + Math.round(((timestampUs - firstUs) * clockRate) / 1_000_000)) % 2 ** 32
}

/** Each chunk's packets, as they would leave: serialized, and parsed again at the receiver. */
function packetizeVideo(sequenceNumber: number): { packets: RtpPacket[][]; wireSizes: number[] } {
  const sender = new Vp8Sender({ payloadType: 96, sequenceNumber })
  const clock = new LocalMediaClock(VP8_CLOCK_RATE, RTP_OFFSET)
  const wireSizes: number[] = []
  const packets = video.chunks.map((chunk) =>
    sender.packetize(bytesOf(chunk), clock.toRtp(chunk.timestamp)).map((packet) => {
      const wire = packet.serialize()
      wireSizes.push(wire.length)
      return RtpPacket.deSerialize(wire)
    }),
  )
  return { packets, wireSizes }
}

function assemble(packets: RtpPacket[]): { frames: AssembledFrame[]; keyFrameNeeded: boolean } {
  const assembler = new Vp8Assembler()
  const results = packets.map((packet, i) => {
    const { sequenceNumber, timestamp, marker } = packet.header
    return assembler.push({ sequenceNumber, timestamp, marker, payload: packet.payload }, i)
  })
  return { frames: results.flatMap((r) => r.frames), keyFrameNeeded: results.some((r) => r.keyFrameNeeded) }
}

function expectVideoFrames(frames: AssembledFrame[]): void {
  const first = video.chunks[0]!.timestamp
  expect(frames).toHaveLength(video.chunks.length)
  frames.forEach((frame, i) => {
    const chunk = video.chunks[i]!
    expect(Buffer.from(frame.data).equals(bytesOf(chunk)), `frame ${i} bytes`).toBe(true)
    expect(frame.keyFrame, `frame ${i} key`).toBe(chunk.type === 'key')
    expect(frame.rtpTimestamp, `frame ${i} timestamp`).toBe(
      expectedRtp(chunk.timestamp, first, VP8_CLOCK_RATE),
    )
  })
}

describe('WebCodecs VP8 fixture', () => {
  it('is what the generator promises: 640x360-sized frames, a key frame first and one mid-stream', () => {
    expect(video.codec).toBe('vp8')
    expect(video.chunks.length).toBeGreaterThanOrEqual(25)
    const keys = video.chunks.flatMap((c, i) => (c.type === 'key' ? [i] : []))
    expect(keys[0]).toBe(0)
    expect(keys.length).toBeGreaterThanOrEqual(2)
    // The P bit of the frame tag agrees with WebCodecs' chunk type.
    for (const chunk of video.chunks) expect(isVp8KeyFrame(bytesOf(chunk))).toBe(chunk.type === 'key')
    // Key frames span several packets.
    expect(bytesOf(video.chunks[0]!).length).toBeGreaterThan(3 * DEFAULT_MAX_PAYLOAD)
  })

  it('every chunk → RTP → assembler in order: identical bytes, key flags, 90 kHz timestamps, under the MTU', () => {
    const { packets, wireSizes } = packetizeVideo(0xfff0) // the sequence numbers wrap too
    expect(wireSizes.every((size) => size <= MAX_PACKET)).toBe(true)
    expect(Math.max(...wireSizes)).toBe(MAX_PACKET)
    for (const framePackets of packets) {
      expect(framePackets.map((p) => p.header.marker)).toEqual(
        framePackets.map((_, i, all) => i === all.length - 1),
      )
      expect(new Set(framePackets.map((p) => p.header.timestamp)).size).toBe(1)
    }
    expect(packets.flat().map((p) => p.header.sequenceNumber)).toContain(0)
    const { frames, keyFrameNeeded } = assemble(packets.flat())
    expect(keyFrameNeeded).toBe(false)
    expectVideoFrames(frames)
    expect(frames.map((f) => f.rtpTimestamp)).toContain(0)
  })

  it('reordered packets (within each frame, and a frame overtaking its predecessor) come out the same', () => {
    const { packets } = packetizeVideo(1000)
    const reordered = packets.map((framePackets) => [...framePackets].reverse())
    // Frame 3's packets arrive before frame 2's, and frame 16's (after the mid-stream key frame) before 15's.
    for (const i of [2, 15]) [reordered[i], reordered[i + 1]] = [reordered[i + 1]!, reordered[i]!]
    const { frames, keyFrameNeeded } = assemble(reordered.flat())
    expect(keyFrameNeeded).toBe(false)
    expectVideoFrames(frames)
  })

  it('joining at the mid-stream key frame: decoding starts there', () => {
    const { packets } = packetizeVideo(0)
    const keyIndex = video.chunks.findIndex((c, i) => i > 0 && c.type === 'key')
    const { frames } = assemble(packets.slice(keyIndex).flat())
    expect(frames.map((f) => f.keyFrame)).toEqual(video.chunks.slice(keyIndex).map((c) => c.type === 'key'))
    expect(Buffer.from(frames[0]!.data).equals(bytesOf(video.chunks[keyIndex]!))).toBe(true)
  })
})

describe('WebCodecs Opus fixture', () => {
  it('every chunk → one RTP packet → receiver: identical bytes, 48 kHz timestamps, marker on the first', () => {
    expect(audio.codec).toBe('opus')
    expect(audio.chunks.length).toBeGreaterThanOrEqual(45)
    const sender = new OpusSender({ payloadType: 111 })
    const receiver = new OpusReceiver()
    const clock = new LocalMediaClock(OPUS_CLOCK_RATE, RTP_OFFSET)
    const first = audio.chunks[0]!.timestamp
    const timestamps: number[] = []
    audio.chunks.forEach((chunk, i) => {
      expect(chunk.type).toBe('key')
      const packets = sender.packetize(bytesOf(chunk), clock.toRtp(chunk.timestamp))
      expect(packets).toHaveLength(1)
      const wire = packets[0]!.serialize()
      expect(wire.length).toBeLessThanOrEqual(MAX_PACKET)
      const packet = RtpPacket.deSerialize(wire)
      expect(packet.header.marker).toBe(i === 0)
      const out = receiver.push({ ...packet.header, payload: packet.payload })
      expect(out, `chunk ${i}`).toBeDefined()
      expect(Buffer.from(out!.data).equals(bytesOf(chunk)), `chunk ${i} bytes`).toBe(true)
      expect(out!.rtpTimestamp).toBe(expectedRtp(chunk.timestamp, first, OPUS_CLOCK_RATE))
      timestamps.push(out!.rtpTimestamp)
    })
    // 20 ms frames: 960 ticks apart, across the 32-bit wrap.
    const steps = timestamps.slice(1).map((t, i) => (t - timestamps[i]! + 2 ** 32) % 2 ** 32)
    expect(new Set(steps)).toEqual(new Set([960]))
    expect(timestamps).toContain(0)
  })
})
