import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TcpFramer, decodeChannelData, encodeChannelData } from './framing'

const MAX = 2048

/** A STUN-shaped frame: 00 first bits, a length that is a multiple of 4, any body. */
const stunFrame = fc
  .tuple(
    fc.integer({ min: 0, max: 0x3fff }),
    fc.integer({ min: 0, max: 100 }),
    fc.uint8Array({ maxLength: 416 }),
  )
  .map(([type, words, fill]) => {
    const frame = Buffer.alloc(20 + words * 4)
    frame.writeUInt16BE(type, 0)
    frame.writeUInt16BE(words * 4, 2)
    Buffer.from(fill).copy(frame, 4, 0, Math.min(fill.length, frame.length - 4))
    return { frame, wire: frame }
  })

const channelFrame = fc
  .tuple(fc.integer({ min: 0x4000, max: 0x4fff }), fc.uint8Array({ maxLength: 300 }))
  .map(([channel, data]) => ({
    frame: encodeChannelData(channel, Buffer.from(data), false),
    wire: encodeChannelData(channel, Buffer.from(data), true),
  }))

const stream = fc.array(fc.oneof(stunFrame, channelFrame), { maxLength: 20 })

/** Cut points for a buffer of the given length, sorted, duplicates allowed (empty chunks). */
function cutsFor(length: number): fc.Arbitrary<number[]> {
  return fc
    .array(fc.integer({ min: 0, max: length }), { maxLength: 12 })
    .map((cuts) => cuts.sort((a, b) => a - b))
}

function split(wire: Buffer, cuts: number[]): Buffer[] {
  const pieces: Buffer[] = []
  let from = 0
  for (const cut of [...cuts, wire.length]) {
    pieces.push(wire.subarray(from, cut))
    from = cut
  }
  return pieces
}

describe('TcpFramer properties', () => {
  it('any chunking of a valid stream yields exactly its frames, and ends at a boundary', () => {
    fc.assert(
      fc.property(
        stream.chain((parts) => {
          const wire = Buffer.concat(parts.map((p) => p.wire))
          return fc.tuple(fc.constant(parts), fc.constant(wire), cutsFor(wire.length))
        }),
        ([parts, wire, cuts]) => {
          const framer = new TcpFramer({ maxFrameBytes: MAX })
          const out: string[] = []
          for (const piece of split(wire, cuts)) {
            const result = framer.push(piece, 0)
            expect(result.error).toBeUndefined()
            out.push(...result.frames.map((f) => f.toString('hex')))
          }
          expect(out).toEqual(parts.map((p) => p.frame.toString('hex')))
          expect(framer.pendingSince()).toBeUndefined()
        },
      ),
      { numRuns: 500 },
    )
  })

  it('random bytes in random chunks never throw, and every frame handed out is well formed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }),
        fc.integer({ min: 20, max: 600 }),
        (chunks, maxFrameBytes) => {
          const framer = new TcpFramer({ maxFrameBytes })
          let failed = false
          for (const [i, chunk] of chunks.entries()) {
            const result = framer.push(Buffer.from(chunk), i)
            if (failed) expect(result.frames).toHaveLength(0)
            failed ||= result.error !== undefined
            for (const frame of result.frames) {
              const kind = frame[0]! & 0xc0
              const length = frame.readUInt16BE(2)
              expect(kind === 0x00 || kind === 0x40).toBe(true)
              expect(frame.length).toBe(length + (kind === 0 ? 20 : 4))
              expect(frame.length).toBeLessThanOrEqual(maxFrameBytes)
              if (kind === 0x40) expect(decodeChannelData(frame)?.data.length).toBe(length)
            }
            const since = framer.pendingSince()
            if (since !== undefined) expect(since).toBeLessThanOrEqual(i)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('a valid stream followed by garbage yields the valid frames, then at most an error', () => {
    fc.assert(
      fc.property(stream, fc.uint8Array({ minLength: 1, maxLength: 64 }), (parts, garbage) => {
        const wire = Buffer.concat([...parts.map((p) => p.wire), Buffer.from(garbage)])
        const result = new TcpFramer({ maxFrameBytes: MAX }).push(wire, 0)
        const expected = parts.map((p) => p.frame.toString('hex'))

        expect(result.frames.slice(0, expected.length).map((f) => f.toString('hex'))).toEqual(expected)
      }),
      { numRuns: 300 },
    )
  })
})

describe('ChannelData helpers properties', () => {
  it('decodeChannelData never throws on any bytes, and what it returns fits the length field', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const buf = Buffer.from(bytes)
        const decoded = decodeChannelData(buf)
        if (decoded) {
          expect(decoded.channel).toBeGreaterThanOrEqual(0x4000)
          expect(decoded.channel).toBeLessThanOrEqual(0x7fff)
          expect(decoded.data.length).toBe(buf.readUInt16BE(2))
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('encode → decode is the identity, padded or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x4000, max: 0x4fff }),
        fc.uint8Array({ maxLength: 1500 }),
        fc.boolean(),
        (channel, data, pad) => {
          const encoded = encodeChannelData(channel, Buffer.from(data), pad)
          expect(encoded.length % 4 === 0 || !pad).toBe(true)
          expect(decodeChannelData(encoded)).toEqual({ channel, data: Buffer.from(data) })
        },
      ),
    )
  })
})
