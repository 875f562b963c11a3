import fc from 'fast-check'
import { RtpPacket } from 'werift'
import { describe, expect, it } from 'vitest'
import { isVp8KeyFrame, parseVp8Descriptor, vp8KeyFrameSize, Vp8Sender } from './vp8'
import { Vp8Assembler, type RtpIn } from './vp8Assembler'

/** A synthetic VP8 frame: a real frame tag (P bit) then `size - 1` bytes derived from `seed`. */
function frame(seed: number, size: number, key: boolean): Uint8Array {
  const data = new Uint8Array(size)
  data[0] = key ? 0x10 : 0x11
  for (let i = 1; i < size; i++) data[i] = (seed * 31 + i * 7) & 0xff
  return data
}

function rtpIn(packet: RtpPacket): RtpIn {
  const { sequenceNumber, timestamp, marker } = packet.header
  return { sequenceNumber, timestamp, marker, payload: packet.payload }
}

describe('parseVp8Descriptor (RFC 7741 §4.2)', () => {
  it.each([
    ['minimal, S=1 PID=0', [0x10, 0xaa], { start: true, partitionId: 0, length: 1 }],
    ['X I M: 15-bit PictureID', [0x90, 0x80, 0x81, 0x23, 0xaa], { start: true, pictureId: 0x123, length: 4 }],
    [
      'X I: 7-bit PictureID, continuation',
      [0x80, 0x80, 0x05, 0xaa],
      { start: false, pictureId: 5, length: 3 },
    ],
    ['X I L (no T/K): TL0PICIDX only', [0x90, 0xc0, 0x81, 0x23, 0x07, 0xaa], { length: 5, tl0PicIdx: 7 }],
    [
      'X I L T: TL0PICIDX and TID 1',
      [0x90, 0xe0, 0x81, 0x23, 0x07, 0x40, 0xaa],
      { length: 6, temporalLayerId: 1, layerSync: false, tl0PicIdx: 7 },
    ],
    ['X T: TID 2, Y set', [0x90, 0x20, 0xa0, 0xaa], { length: 3, temporalLayerId: 2, layerSync: true }],
    ['X K only: KEYIDX', [0x90, 0x10, 0x1f, 0xaa], { length: 3 }],
    ['PID 2', [0x02, 0xaa], { start: false, partitionId: 2, length: 1 }],
  ])('%s', (_name, bytes, expected) => {
    expect(parseVp8Descriptor(Uint8Array.from(bytes))).toMatchObject(expected)
  })

  it.each([
    ['empty', []],
    ['descriptor only', [0x10]],
    ['X without its octet', [0x90]],
    ['M without the low octet', [0x90, 0x80, 0x81]],
    ['L without TL0PICIDX and payload', [0x90, 0x40]],
  ])('%s → undefined', (_name, bytes) => {
    expect(parseVp8Descriptor(Uint8Array.from(bytes))).toBeUndefined()
  })

  it('K without T: the TID bits mean nothing', () => {
    expect(parseVp8Descriptor(Uint8Array.of(0x90, 0x10, 0xdf, 0xaa))).not.toHaveProperty('temporalLayerId')
  })

  it('never throws on any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => void parseVp8Descriptor(bytes)))
  })
})

describe('vp8KeyFrameSize (RFC 6386 §9.1)', () => {
  // 640x360 key frame: tag (P=0, show_frame), start code, 0x0280 and 0x0168 little-endian.
  const header = [0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0x00]
  it.each([
    ['640x360', header, { width: 640, height: 360 }],
    [
      'scaling bits ignored: 320x180',
      [0x50, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x41, 0xb4, 0xc0],
      { width: 320, height: 180 },
    ],
    ['a delta frame', [0x51, ...header.slice(1)], undefined],
    ['no start code', [0x50, 0, 0, 0x9d, 0x01, 0x2b, 0x80, 0x02, 0x68, 0x01], undefined],
    ['truncated', header.slice(0, 9), undefined],
  ])('%s', (_name, bytes, expected) => {
    expect(vp8KeyFrameSize(Uint8Array.from(bytes))).toEqual(expected)
  })
})

describe('VP8 packetize → assemble', () => {
  it('round-trips frames of every size, key and delta, with the P bit as the key-frame flag', () => {
    const sender = new Vp8Sender({ payloadType: 96 })
    const assembler = new Vp8Assembler()
    const sizes = [1, 2, 1195, 1196, 1197, 5000, 40_000]
    sizes.forEach((size, i) => {
      const data = frame(i, Math.max(size, 1), i === 0 || size === 40_000)
      const packets = sender.packetize(data, 1000 + i * 3000)
      expect(packets.at(-1)!.header.marker).toBe(true)
      expect(packets.every((p) => p.payload.length <= 1200)).toBe(true)
      const out = packets.flatMap((p) => assembler.push(rtpIn(p), 0).frames)
      expect(out).toHaveLength(1)
      expect(Buffer.from(out[0]!.data).equals(Buffer.from(data))).toBe(true)
      expect(out[0]!.keyFrame).toBe(isVp8KeyFrame(data))
      expect(out[0]!.rtpTimestamp).toBe(1000 + i * 3000)
    })
  })

  it('reorders packets within a frame and across frames, and ignores duplicates', () => {
    const sender = new Vp8Sender({ payloadType: 96 })
    const frames = [frame(1, 4000, true), frame(2, 3000, false), frame(3, 2500, false)]
    const packets = frames.flatMap((f, i) => sender.packetize(f, i * 3000))
    const shuffled = [packets[2]!, packets[0]!, packets[5]!, packets[1]!, packets[4]!, packets[3]!]
    shuffled.push(...packets.slice(6), packets[0]!)
    const assembler = new Vp8Assembler()
    const out = shuffled.flatMap((p) => assembler.push(rtpIn(p), 0).frames)
    expect(out.map((f) => Buffer.from(f.data))).toEqual(frames.map((f) => Buffer.from(f)))
  })

  it('survives the 16-bit sequence wrap', () => {
    const sender = new Vp8Sender({ payloadType: 96, sequenceNumber: 0xfffa })
    const assembler = new Vp8Assembler()
    const frames = [0, 1, 2, 3].map((i) => frame(i, 4000, i === 0))
    const packets = frames.flatMap((f, i) => sender.packetize(f, i * 3000))
    expect(packets.map((p) => p.header.sequenceNumber)).toContain(0)
    const out = packets.flatMap((p) => assembler.push(rtpIn(p), 0).frames)
    expect(out.map((f) => Buffer.from(f.data))).toEqual(frames.map((f) => Buffer.from(f)))
  })

  it('a lost packet: the frame is given up after maxWaitMs, deltas are skipped until a key frame', () => {
    const sender = new Vp8Sender({ payloadType: 96 })
    const assembler = new Vp8Assembler({ maxWaitMs: 100 })
    const push = (p: RtpPacket, now: number) => assembler.push(rtpIn(p), now)
    const [k0] = [sender.packetize(frame(0, 1000, true), 0)]
    expect(k0!.flatMap((p) => push(p, 0).frames)).toHaveLength(1)
    const d1 = sender.packetize(frame(1, 3000, false), 3000)
    const d2 = sender.packetize(frame(2, 1000, false), 6000)
    push(d1[0]!, 10) // d1[1] and d1[2] lost: seen when d2 comes
    expect(push(d2[0]!, 20)).toEqual({ frames: [], keyFrameNeeded: false })
    const d3 = sender.packetize(frame(3, 1000, false), 9000)
    const later = push(d3[0]!, 120) // d1 waited 100 ms from then: given up
    expect(later.keyFrameNeeded).toBe(true)
    expect(later.frames).toEqual([]) // d2 and d3 are deltas after a loss: skipped
    const k4 = sender.packetize(frame(4, 2000, true), 12_000)
    const out = k4.flatMap((p) => push(p, 170).frames)
    expect(out.map((f) => f.keyFrame)).toEqual([true])
  })

  it('a retransmission within maxWaitMs repairs the frame (NACK)', () => {
    const sender = new Vp8Sender({ payloadType: 96 })
    const assembler = new Vp8Assembler({ maxWaitMs: 100 })
    const k0 = sender.packetize(frame(0, 3000, true), 0)
    const d1 = sender.packetize(frame(1, 1000, false), 3000)
    const out = [k0[0]!, k0[2]!, ...d1, k0[1]!].flatMap((p, i) => assembler.push(rtpIn(p), i * 10).frames)
    expect(out.map((f) => f.keyFrame)).toEqual([true, false])
  })

  it('starts at the first key frame; a stream joined mid-frame does not wait', () => {
    const sender = new Vp8Sender({ payloadType: 96 })
    const assembler = new Vp8Assembler()
    const d0 = sender.packetize(frame(0, 3000, false), 0)
    const d1 = sender.packetize(frame(1, 1000, false), 3000)
    const k2 = sender.packetize(frame(2, 1000, true), 6000)
    const results = [d0[2]!, ...d1, ...k2].map((p) => assembler.push(rtpIn(p), 0))
    expect(results.flatMap((r) => r.frames).map((f) => f.keyFrame)).toEqual([true])
    expect(results.some((r) => r.keyFrameNeeded)).toBe(true)
  })

  it('never throws on arbitrary packets', () => {
    const packet = fc.record({
      sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 10 }),
      marker: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 8 }),
    })
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 50 }), (packets) => {
        const assembler = new Vp8Assembler({ maxPendingFrames: 4 })
        packets.forEach((p, i) => assembler.push(p, i))
      }),
    )
  })
})

it('RtpPacket payloads from werift are Buffers of the frame bytes (no copy of the descriptor)', () => {
  const [packet] = new Vp8Sender({ payloadType: 96 }).packetize(frame(9, 10, true), 1)
  expect(packet).toBeInstanceOf(RtpPacket)
  expect([...packet!.payload.subarray(0, 4)]).toEqual([0x90, 0x80, packet!.payload[2], packet!.payload[3]])
})
