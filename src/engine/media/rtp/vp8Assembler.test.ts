import { describe, expect, it } from 'vitest'
import { Vp8Assembler, type RtpIn } from './vp8Assembler'
import { Vp8TemporalSender } from './vp8Temporal'

/** A synthetic VP8 frame: a real frame tag (P bit) then filler. */
function frame(size: number, key: boolean): Uint8Array {
  const data = new Uint8Array(size).fill(7)
  data[0] = key ? 0x10 : 0x11
  return data
}

function packetsOf(
  sender: Vp8TemporalSender,
  data: Uint8Array,
  timestamp: number,
  layer?: 0 | 1 | 2,
): RtpIn[] {
  return sender.packetize(data, timestamp, layer).map((p) => {
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

/** An L1T3 stream as Chromium's encoder makes it (TL0, TL2, TL1, TL2 …, a key frame first), one packet a frame. */
function layeredStream(frames: number): RtpIn[][] {
  const sender = new Vp8TemporalSender({ payloadType: 96 })
  const pattern = [0, 2, 1, 2] as const
  return Array.from({ length: frames }, (_, i) =>
    packetsOf(sender, frame(300, i === 0), i * 3000, pattern[i % 4]),
  )
}

/** Pushes every frame but `dropped`, 33 ms apart; what came out and how many key frame requests. */
function play(stream: RtpIn[][], dropped: readonly number[]): { out: number[]; requests: number } {
  const assembler = new Vp8Assembler({ maxWaitMs: 250 })
  const out: number[] = []
  let requests = 0
  stream.forEach((packets, i) => {
    if (dropped.includes(i)) return
    for (const packet of packets) {
      const result = assembler.push(packet, i * 33)
      out.push(...result.frames.map((f) => f.rtpTimestamp / 3000))
      if (result.keyFrameNeeded) requests++
    }
  })
  return { out, requests }
}

describe('Vp8Assembler with temporal layers (L1T3): a loss costs only what referenced it', () => {
  const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
  it.each([
    // frame i has layer [0, 2, 1, 2][i % 4]; 5 and 7 are the TL2 frames of the second group, 6 its TL1.
    ['nothing lost', [], all(24), 0],
    ['a sync TL2 frame (5): only it', [5], all(24).filter((i) => i !== 5), 0],
    ['the group-ending TL2 frame (7): only it', [7], all(24).filter((i) => i !== 7), 0],
    [
      'a TL1 frame (6): it and the TL2 frame that references it (7)',
      [6],
      all(24).filter((i) => i < 6 || i > 7),
      0,
    ],
    ['a TL1 and a TL2 frame of two groups (6, 9)', [6, 9], all(24).filter((i) => ![6, 7, 9].includes(i)), 0],
  ])('%s', (_name, dropped, delivered, requests) => {
    expect(play(layeredStream(24), dropped)).toEqual({ out: delivered, requests })
  })

  it('a TL0 frame (4): nothing until the next key frame, which is asked for', () => {
    const { out, requests } = play(layeredStream(24), [4])
    expect(out).toEqual([0, 1, 2, 3])
    expect(requests).toBeGreaterThan(0)
  })

  it('without layer marks any loss still waits for a key frame', () => {
    const sender = new Vp8TemporalSender({ payloadType: 96 })
    const stream = Array.from({ length: 24 }, (_, i) => packetsOf(sender, frame(300, i === 0), i * 3000))
    const { out, requests } = play(stream, [5])
    expect(out).toEqual([0, 1, 2, 3, 4])
    expect(requests).toBeGreaterThan(0)
  })
})
