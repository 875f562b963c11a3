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

  it('one that stops arriving is given up maxWaitMs after a later packet showed its tail missing', () => {
    const sender = new Vp8TemporalSender({ payloadType: 96 })
    const assembler = new Vp8Assembler({ maxWaitMs: 250 })
    const key = packetsOf(sender, frame(12_000, true), 0)
    key.slice(0, 6).forEach((p, i) => assembler.push(p, i * 32)) // the rest never comes
    // Nothing says the rest is lost until the next frame: then it is NACKed, and waited for.
    const later = packetsOf(sender, frame(900, false), 3000)
    expect(assembler.push(later[0]!, 1000).keyFrameNeeded).toBe(false)
    const more = packetsOf(sender, frame(900, false), 6000)
    expect(assembler.push(more[0]!, 1000 + 249).keyFrameNeeded).toBe(false)
    const third = packetsOf(sender, frame(900, false), 9000)
    expect(assembler.push(third[0]!, 1000 + 251).keyFrameNeeded).toBe(true)
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

/** Packets with the time each arrives; pushed in time order. */
type Arrival = { at: number; packet: RtpIn }

function replay(arrivals: Arrival[]): { out: number[]; requests: number; waitMs: number } {
  const assembler = new Vp8Assembler({ maxWaitMs: 250 })
  const out: number[] = []
  let requests = 0
  for (const { at, packet } of [...arrivals].sort((a, b) => a.at - b.at)) {
    const result = assembler.push(packet, at)
    out.push(...result.frames.map((f) => f.rtpTimestamp / 3000))
    if (result.keyFrameNeeded) requests++
  }
  return { out, requests, waitMs: assembler.waitMs }
}

describe('Vp8Assembler on a link whose repairs take longer than 250 ms (bench:network poor)', () => {
  it('waits as long as this stream’s retransmissions take, so a lost TL0 frame is repaired, not a freeze', () => {
    // 30 fps L1T3, one packet a frame. Each lost packet is seen missing when the next frame arrives and
    // its retransmission comes 320 ms later (120 ms round trip, a queue, the server's pacing): three TL2
    // frames first (too late to be used, but they show what a repair takes), then a TL0 frame.
    const stream = layeredStream(40)
    const lost = [5, 9, 13, 20]
    const arrivals = stream.flatMap((packets, i) => {
      const at = lost.includes(i) ? (i + 1) * 33 + 320 : i * 33
      return packets.map((packet) => ({ at, packet }))
    })
    const { out, requests, waitMs } = replay(arrivals)
    expect(requests).toBe(0)
    expect(out).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => ![5, 9, 13].includes(i)))
    expect(waitMs).toBe(350)
  })

  it('a lost TL0 frame waits past the freeze rule when repairs take that long: the repair beats a key frame', () => {
    // The same with repairs of 700 ms (a full 300 ms queue each way on a 120 ms round trip). An upper-layer
    // frame is given up after 500 ms (it costs only itself); the TL0 frame (20) is worth the wait, since
    // giving it up costs a key frame that would come a repair's time later at the soonest.
    const stream = layeredStream(60)
    const lost = [5, 9, 13, 17, 20]
    const arrivals = stream.flatMap((packets, i) => {
      const at = lost.includes(i) ? (i + 1) * 33 + 700 : i * 33
      return packets.map((packet) => ({ at, packet }))
    })
    const { out, requests, waitMs } = replay(arrivals)
    expect(requests).toBe(0)
    expect(out).toEqual(Array.from({ length: 60 }, (_, i) => i).filter((i) => ![5, 9, 13, 17].includes(i)))
    expect(waitMs).toBe(500)
  })

  it('a frame missing its last packet waits from when the next frame showed it, not from its own last', () => {
    // The base layer only (a thinned subscriber): 3.75 fps, two packets a frame. Frame 2's second packet
    // is lost; the next frame comes 267 ms later, when the loss is seen and NACKed; 150 ms after that the
    // retransmission arrives.
    const sender = new Vp8TemporalSender({ payloadType: 96 })
    const stream = Array.from({ length: 6 }, (_, i) =>
      packetsOf(sender, frame(2000, i === 0), i * 3000 * 8, 0),
    )
    expect(stream[2]!.length).toBe(2)
    const arrivals = stream.flatMap((packets, i) =>
      packets.map((packet, p) => ({ at: i === 2 && p === 1 ? 3 * 267 + 150 : i * 267 + p * 5, packet })),
    )
    const { out, requests } = replay(arrivals)
    expect(requests).toBe(0)
    expect(out).toEqual([0, 8, 16, 24, 32, 40])
  })
})

describe('Vp8Assembler: a complete key frame behind an incomplete frame', () => {
  it('goes out at once while the stream waits for it, instead of waiting out the frame before it', () => {
    // A TL0 frame lost breaks the chain; a delta after it misses a packet (its repair is on its way);
    // the key frame the receiver asked for arrives complete behind it.
    const sender = new Vp8TemporalSender({ payloadType: 96 })
    const assembler = new Vp8Assembler({ maxWaitMs: 250 })
    const key0 = packetsOf(sender, frame(300, true), 0, 0)
    const lostTl0 = packetsOf(sender, frame(300, false), 3000, 0)
    const delta = packetsOf(sender, frame(3000, false), 6000, 2)
    const key1 = packetsOf(sender, frame(3000, true), 9000, 0)
    expect(delta.length).toBeGreaterThan(1)
    key0.forEach((p) => assembler.push(p, 0))
    expect(lostTl0.length).toBe(1)
    // lostTl0 never comes; the delta's first packet does, its second does not (yet).
    expect(assembler.push(delta[0]!, 66).keyFrameNeeded).toBe(false)
    const frames = key1.flatMap((p, i) => assembler.push(p, 100 + i).frames)
    expect(frames.map((f) => [f.rtpTimestamp, f.keyFrame])).toEqual([[9000, true]])
  })

  it('goes out at once past a base-layer frame still waiting for a repair, and needs no other key frame', () => {
    const sender = new Vp8TemporalSender({ payloadType: 96 })
    const assembler = new Vp8Assembler({ maxWaitMs: 250 })
    packetsOf(sender, frame(300, true), 0, 0).forEach((p) => assembler.push(p, 0))
    const tl0 = packetsOf(sender, frame(3000, false), 3000, 0)
    const key = packetsOf(sender, frame(3000, true), 6000, 0)
    assembler.push(tl0[0]!, 33) // the rest of this TL0 frame is lost
    const results = key.map((p, i) => assembler.push(p, 66 + i))
    expect(results.flatMap((r) => r.frames).map((f) => f.rtpTimestamp)).toEqual([6000])
    expect(results.some((r) => r.keyFrameNeeded)).toBe(false)
    // The stream goes on from the key frame.
    const next = packetsOf(sender, frame(300, false), 9000, 2).flatMap((p) => assembler.push(p, 100).frames)
    expect(next.map((f) => f.rtpTimestamp)).toEqual([9000])
  })
})
