import { describe, expect, it } from 'vitest'
import { Vp8Assembler, type RtpIn } from './vp8Assembler'
import { Vp8TemporalSender } from './vp8Temporal'

/** A synthetic VP8 frame: a real frame tag (P bit) then filler. */
function frame(size: number, key: boolean): Uint8Array {
  const data = new Uint8Array(size).fill(7)
  data[0] = key ? 0x10 : 0x11
  return data
}

function packetsOf(sender: Vp8TemporalSender, data: Uint8Array, timestamp: number): RtpIn[] {
  return sender.packetize(data, timestamp).map((p) => {
    const { sequenceNumber, marker } = p.header
    return { sequenceNumber, timestamp, marker, payload: p.payload }
  })
}

describe('Vp8Assembler on a slow link', () => {
  it('a key frame that takes longer than maxWaitMs to arrive, in order, is delivered, not given up', () => {
    // 12 KB at 300 kbit/s: 10 packets, one every 32 ms, 320 ms from first to last.
    const sender = new Vp8TemporalSender({ payloadType: 96 })
    const assembler = new Vp8Assembler({ maxWaitMs: 250 })
    const key = packetsOf(sender, frame(12_000, true), 0)
    expect(key.length).toBe(11)
    const results = key.map((p, i) => assembler.push(p, i * 32))
    expect(results.some((r) => r.keyFrameNeeded)).toBe(false)
    expect(results.flatMap((r) => r.frames).map((f) => f.keyFrame)).toEqual([true])
    const next = packetsOf(sender, frame(900, false), 3000).map((p) => assembler.push(p, 400))
    expect(next.flatMap((r) => r.frames).map((f) => f.keyFrame)).toEqual([false])
  })

  it('one that stops arriving is still given up maxWaitMs after its newest packet', () => {
    const sender = new Vp8TemporalSender({ payloadType: 96 })
    const assembler = new Vp8Assembler({ maxWaitMs: 250 })
    const key = packetsOf(sender, frame(12_000, true), 0)
    key.slice(0, 6).forEach((p, i) => assembler.push(p, i * 32)) // the rest never comes
    const later = packetsOf(sender, frame(900, false), 3000)
    expect(assembler.push(later[0]!, 160 + 249).keyFrameNeeded).toBe(false)
    const more = packetsOf(sender, frame(900, false), 6000)
    expect(assembler.push(more[0]!, 160 + 251).keyFrameNeeded).toBe(true)
  })
})
