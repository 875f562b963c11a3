import { type RtpPacket, Vp8Packetizer } from 'werift'
import { describe, expect, it } from 'vitest'
import { Vp8Assembler } from './vp8Assembler'
import { type TemporalLayerId, Vp8TemporalSender } from './vp8Temporal'

/** A synthetic VP8 frame: a real frame tag (P bit) then bytes derived from `seed`. */
function frame(seed: number, size: number, key: boolean): Uint8Array {
  const data = new Uint8Array(size)
  data[0] = key ? 0x10 : 0x11
  for (let i = 1; i < size; i++) data[i] = (seed * 31 + i * 7) & 0xff
  return data
}

/** The descriptor fields, read here from the RFC's layout (independent of the code under test). */
function descriptor(packet: RtpPacket): {
  start: boolean
  pictureId: number
  tl0?: number
  tid?: number
  y?: boolean
} {
  const p = packet.payload
  const ext = p[1]!
  const out = { start: (p[0]! & 0x10) !== 0, pictureId: ((p[2]! & 0x7f) << 8) | p[3]! }
  if ((ext & 0x60) !== 0x60) return out
  return { ...out, tl0: p[4]!, tid: p[5]! >> 6, y: (p[5]! & 0x20) !== 0 }
}

const L1T3: TemporalLayerId[] = [0, 2, 1, 2, 0, 2, 1, 2, 0]

describe('Vp8TemporalSender (RFC 7741 descriptor with L and T)', () => {
  it('without a layer id writes exactly what werift’s Vp8Packetizer writes', () => {
    const ours = new Vp8TemporalSender({ payloadType: 96, sequenceNumber: 65_530, pictureId: 0x7ffe })
    const werift = new Vp8Packetizer({ payloadType: 96, sequenceNumber: 65_530, pictureId: 0x7ffe })
    for (const [i, size] of [1, 1196, 1197, 5000, 300].entries()) {
      const data = frame(i, size, i === 0)
      const a = ours.packetize(data, i * 3000)
      const b = werift.packetize(Buffer.from(data), i * 3000)
      expect(a.map((p) => p.serialize().toString('hex'))).toEqual(b.map((p) => p.serialize().toString('hex')))
    }
  })

  it('L1T3: TL0PICIDX +1 per base frame, TID per frame, Y on the first TL1 and TL2 after each TL0', () => {
    const sender = new Vp8TemporalSender({ payloadType: 96, pictureId: 0x7ffe, tl0PicIdx: 0xff })
    const firsts = L1T3.map((tid, i) => sender.packetize(frame(i, 2500, i === 0), i * 3000, tid))
    const fields = firsts.map((packets) => descriptor(packets[0]!))
    expect(fields.map((f) => f.tid)).toEqual(L1T3)
    expect(fields.map((f) => f.tl0)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2]) // wraps from 0xff
    expect(fields.map((f) => f.y)).toEqual([false, true, true, false, false, true, true, false, false])
    expect(fields.map((f) => f.pictureId)).toEqual([0x7ffe, 0x7fff, 0, 1, 2, 3, 4, 5, 6])
    for (const packets of firsts) {
      // Every packet of a frame carries the same descriptor; only the first has S; the last the marker.
      expect(packets.map((p) => ({ ...descriptor(p), start: false }))).toEqual(
        packets.map(() => ({ ...descriptor(packets[0]!), start: false })),
      )
      expect(packets.map((p) => descriptor(p).start)).toEqual(packets.map((_, i) => i === 0))
      expect(packets.map((p) => p.header.marker)).toEqual(packets.map((_, i) => i === packets.length - 1))
      expect(packets.every((p) => p.payload.length <= 1200)).toBe(true)
    }
  })

  it('layered and plain frames share one sequence and PictureID space, and assemble back byte for byte', () => {
    const sender = new Vp8TemporalSender({ payloadType: 96, sequenceNumber: 65_000 })
    const assembler = new Vp8Assembler()
    const frames = L1T3.map((_, i) => frame(i, 700 + i * 900, i === 0))
    const layers = [0, 2, undefined, 2, 0, 2, 1, undefined, 0] as const
    const packets = frames.flatMap((f, i) => sender.packetize(f, i * 3000, layers[i]))
    const seqs = packets.map((p) => p.header.sequenceNumber)
    expect(seqs).toEqual(seqs.map((_, i) => (65_000 + i) & 0xffff))
    const out = packets.flatMap((p) => {
      const { sequenceNumber, timestamp, marker } = p.header
      return assembler.push({ sequenceNumber, timestamp, marker, payload: p.payload }, 0).frames
    })
    expect(out.map((f) => Buffer.from(f.data))).toEqual(frames.map((f) => Buffer.from(f)))
  })
})
