import { describe, expect, it } from 'vitest'
import {
  RecvDelta,
  RtcpTransportLayerFeedback,
  RunLengthChunk,
  StatusVectorChunk,
  TransportWideCC,
} from 'werift'
import { SendHistory } from './sendHistory'
import { buildTwcc, parseTwcc, type TwccFeedback } from './twcc'
import { TwccRecorder } from './twccRecorder'

/** A feedback packet written by hand: fixed header, then the chunks and deltas as raw 16/8-bit words. */
function packet(fields: {
  base: number
  count: number
  reference: number
  chunks: number[]
  deltas: readonly { readonly bytes: number; readonly ticks: number }[]
}): Uint8Array {
  const body = 16 + fields.chunks.length * 2 + fields.deltas.reduce((n, d) => n + d.bytes, 0)
  const length = Math.ceil((body + 4) / 4) * 4
  const view = new DataView(new ArrayBuffer(length))
  view.setUint8(0, 0x8f)
  view.setUint8(1, 205)
  view.setUint16(2, length / 4 - 1)
  view.setUint32(4, 0x11111111)
  view.setUint32(8, 0x22222222)
  view.setUint16(12, fields.base)
  view.setUint16(14, fields.count)
  view.setUint16(16, fields.reference >> 8)
  view.setUint8(18, fields.reference & 0xff)
  view.setUint8(19, 7)
  let offset = 20
  for (const chunk of fields.chunks) {
    view.setUint16(offset, chunk)
    offset += 2
  }
  for (const d of fields.deltas) {
    if (d.bytes === 1) view.setUint8(offset, d.ticks)
    else view.setInt16(offset, d.ticks)
    offset += d.bytes
  }
  return new Uint8Array(view.buffer)
}

const r = (sequence: number, arrivalUs?: number) =>
  arrivalUs === undefined ? { sequence, received: false } : { sequence, received: true, arrivalUs }

describe('parseTwcc', () => {
  it.each([
    {
      name: 'run-length chunk of small deltas',
      input: {
        base: 100,
        count: 3,
        reference: 10,
        chunks: [(1 << 13) | 3],
        deltas: [
          { bytes: 1, ticks: 4 },
          { bytes: 1, ticks: 0 },
          { bytes: 1, ticks: 255 },
        ],
      },
      packets: [r(100, 1000), r(101, 1000), r(102, 1000 + 255 * 250)],
    },
    {
      name: 'run-length of lost packets, then received',
      input: {
        base: 7,
        count: 4,
        reference: 0,
        chunks: [(0 << 13) | 2, (1 << 13) | 2],
        deltas: [
          { bytes: 1, ticks: 8 },
          { bytes: 1, ticks: 8 },
        ],
      },
      packets: [r(7), r(8), r(9, 2000), r(10, 4000)],
    },
    {
      name: 'one-bit status vector (14 symbols, count stops at 10)',
      input: {
        base: 0,
        count: 10,
        reference: 1,
        // 1 0 1 1 0 0 1 1 1 1 | (padding) 0 0 0 0
        chunks: [0x8000 | 0b10110011110000],
        deltas: [1, 2, 3, 4, 5, 6, 7].map((ticks) => ({ bytes: 1 as const, ticks })),
      },
      packets: [
        r(0, 250),
        r(1),
        r(2, 750),
        r(3, 1500),
        r(4),
        r(5),
        r(6, 2500),
        r(7, 3750),
        r(8, 5250),
        r(9, 7000),
      ],
    },
    {
      name: 'two-bit status vector: large, negative and no-delta symbols',
      input: {
        base: 50,
        count: 7,
        reference: 2,
        // 1 2 0 2 3 1 0
        chunks: [0xc000 | 0b01100010110100],
        deltas: [
          { bytes: 1, ticks: 10 },
          { bytes: 2, ticks: 1000 },
          { bytes: 2, ticks: -40 },
          { bytes: 1, ticks: 3 },
        ],
      },
      packets: [
        r(50, 2500),
        r(51, 252_500),
        r(52),
        r(53, 242_500),
        { sequence: 54, received: true },
        r(55, 243_250),
        r(56),
      ],
    },
    {
      name: 'sequence numbers wrap at 16 bits',
      input: {
        base: 65534,
        count: 4,
        reference: 0,
        chunks: [(1 << 13) | 4],
        deltas: [1, 1, 1, 1].map((ticks) => ({ bytes: 1 as const, ticks })),
      },
      packets: [r(65534, 250), r(65535, 500), r(0, 750), r(1, 1000)],
    },
  ])('$name', ({ input, packets }) => {
    const parsed = parseTwcc(packet(input))
    expect(parsed).toMatchObject({
      baseSequence: input.base,
      referenceTime: input.reference,
      feedbackCount: 7,
    })
    expect(parsed?.senderSsrc).toBe(0x11111111)
    expect(parsed?.mediaSsrc).toBe(0x22222222)
    expect(parsed?.packets).toEqual(packets)
  })

  it('reads the 24-bit reference time', () => {
    const parsed = parseTwcc(packet({ base: 0, count: 1, reference: 0xabcdef, chunks: [0x2001], deltas: [] }))
    // one small-delta status but no delta byte left: malformed (the padding word is not a delta)
    expect(parsed === null || parsed.referenceTime === 0xabcdef).toBe(true)
    const ok = parseTwcc(
      packet({ base: 0, count: 1, reference: 0xabcdef, chunks: [0x2001], deltas: [{ bytes: 1, ticks: 0 }] }),
    )
    expect(ok?.referenceTime).toBe(0xabcdef)
  })

  it.each([
    { name: 'not RTCP version 2', mutate: (b: Uint8Array) => (b[0] = 0x4f) },
    { name: 'another payload type', mutate: (b: Uint8Array) => (b[1] = 206) },
    { name: 'another feedback type (NACK)', mutate: (b: Uint8Array) => (b[0] = 0x81) },
    { name: 'a run length of zero', mutate: (b: Uint8Array) => ((b[20] = 0x20), (b[21] = 0)) },
    { name: 'more statuses than chunks', mutate: (b: Uint8Array) => (b[15] = 200) },
  ])('rejects $name', ({ mutate }) => {
    const bytes = packet({
      base: 1,
      count: 2,
      reference: 0,
      chunks: [0x2002],
      deltas: [
        { bytes: 1, ticks: 1 },
        { bytes: 1, ticks: 1 },
      ],
    })
    expect(parseTwcc(bytes)).not.toBeNull()
    mutate(bytes)
    expect(parseTwcc(bytes)).toBeNull()
  })

  it('rejects a packet cut short inside its deltas', () => {
    const bytes = packet({
      base: 1,
      count: 3,
      reference: 0,
      chunks: [0x4003],
      deltas: [
        { bytes: 2, ticks: 1 },
        { bytes: 2, ticks: 1 },
        { bytes: 2, ticks: 1 },
      ],
    })
    expect(parseTwcc(bytes)).not.toBeNull()
    expect(parseTwcc(bytes.subarray(0, 24))).toBeNull()
  })

  it("reads werift's serialized status-vector feedback, whose packetResults lose those packets", () => {
    const deltas = [1, 2, 300, -4, 5].map((ticks) => {
      const d = new RecvDelta({ delta: ticks * 250 })
      d.parseDelta()
      return d
    })
    const feedback = new TransportWideCC({
      senderSsrc: 1,
      mediaSourceSsrc: 2,
      baseSequenceNumber: 65533,
      packetStatusCount: 8,
      referenceTime: 5,
      fbPktCount: 0,
      // small, lost, small, large, large, lost, lost | then a run of one small
      packetChunks: [
        new StatusVectorChunk({ symbolSize: 1, symbolList: [1, 0, 1, 2, 2, 0, 0] }),
        new RunLengthChunk({ packetStatus: 1, runLength: 1 }),
      ],
      recvDeltas: deltas,
    })
    const parsed = parseTwcc(new RtcpTransportLayerFeedback({ feedback }).serialize())
    expect(parsed?.referenceTime).toBe(5)
    expect(parsed?.packets).toEqual([
      r(65533, 250),
      r(65534),
      r(65535, 750),
      r(0, 75_750),
      r(1, 74_750),
      r(2),
      r(3),
      r(4, 76_000),
    ])
    // werift's own reading of the same packet skips the vector chunk's statuses
    expect(feedback.packetResults.filter((p) => p.received).length).toBeLessThan(5)
  })
})

describe('buildTwcc', () => {
  it.each([
    { name: 'all received, small deltas', arrivals: [0, 250, 500, 10_000, 63_750] },
    {
      name: 'losses in a mixed pattern',
      arrivals: [0, null, 500, null, null, 1000, 1250, null, 2000, 2250, null, 3000, 3250, 3500, null, 4000],
    },
    { name: 'large and negative deltas', arrivals: [0, 100_000, 90_000, null, 90_250, 5_000_000, 5_000_000] },
    { name: 'long run of loss', arrivals: [0, ...Array<null>(40).fill(null), 1000] },
  ])('round-trips $name', ({ arrivals }) => {
    const referenceTime = 3
    const origin = referenceTime * 64_000
    const bytes = buildTwcc({
      senderSsrc: 9,
      mediaSsrc: 8,
      baseSequence: 65530,
      feedbackCount: 255,
      referenceTime,
      arrivalsUs: arrivals.map((a) => (a === null ? null : origin + a)),
    })
    expect(bytes.length % 4).toBe(0)
    const parsed = parseTwcc(bytes)
    expect(parsed?.packets).toEqual(
      arrivals.map((a, i) => r((65530 + i) & 0xffff, a === null ? undefined : a)),
    )
  })

  it('throws when a delta does not fit 16 signed bits', () => {
    const input = { senderSsrc: 1, mediaSsrc: 1, baseSequence: 0, feedbackCount: 0, referenceTime: 0 }
    expect(() => buildTwcc({ ...input, arrivalsUs: [0, 9_000_000] })).toThrow(RangeError)
  })
})

describe('TwccRecorder', () => {
  const absolute = (f: TwccFeedback) =>
    f.packets.map((p) => ({
      ...p,
      ...(p.arrivalUs === undefined ? {} : { arrivalUs: f.referenceTime * 64_000 + p.arrivalUs }),
    }))

  it('reports gaps as lost once, each arrival once, and nothing when nothing is new', () => {
    const rec = new TwccRecorder(1, () => 2)
    rec.onPacket(10, 1_000_000)
    rec.onPacket(12, 1_002_000)
    const first = rec.take().map((b) => parseTwcc(b)!)
    expect(first).toHaveLength(1)
    expect(absolute(first[0]!)).toEqual([r(10, 1_000_000), r(11), r(12, 1_002_000)])
    expect(rec.take()).toEqual([])
    rec.onPacket(11, 1_003_000) // late: 11 was reported lost already
    rec.onPacket(13, 1_004_000)
    const second = rec.take().map((b) => parseTwcc(b)!)
    expect(absolute(second[0]!)).toEqual([r(13, 1_004_000)])
    expect(second[0]!.feedbackCount).toBe(1)
  })

  it('keeps counting across the 16-bit wrap and reorders within a report', () => {
    const rec = new TwccRecorder(1, () => 2)
    rec.onPacket(65535, 500_000)
    rec.onPacket(1, 501_000)
    rec.onPacket(0, 502_000)
    const [feedback] = rec.take().map((b) => parseTwcc(b)!)
    expect(absolute(feedback!)).toEqual([r(65535, 500_000), r(0, 502_000), r(1, 501_000)])
  })

  it('starts a new packet where the delta would not fit, and splits long reports', () => {
    const rec = new TwccRecorder(1, () => 2)
    rec.onPacket(0, 0)
    rec.onPacket(1, 20_000_000)
    const split = rec.take().map((b) => parseTwcc(b)!)
    expect(split.map(absolute)).toEqual([[r(0, 0)], [r(1, 20_000_000)]])
    for (let i = 2; i < 1500; i++) rec.onPacket(i, 20_000_000 + i * 100)
    const many = rec.take().map((b) => parseTwcc(b)!)
    expect(many.length).toBeGreaterThan(1)
    expect(many.flatMap((f) => f.packets).map((p) => p.sequence)).toEqual(
      Array.from({ length: 1498 }, (_, i) => i + 2),
    )
  })
})

describe('SendHistory', () => {
  it('hands out one 16-bit counter that wraps, and turns feedback into send-ordered results', () => {
    const history = new SendHistory(65534)
    expect([history.add(0, 100), history.add(5, 200, 3), history.add(10, 300)]).toEqual([65534, 65535, 0])
    const report = history.onFeedback({
      senderSsrc: 0,
      mediaSsrc: 0,
      baseSequence: 65534,
      referenceTime: 100,
      feedbackCount: 0,
      packets: [r(65534, 1000), r(65535), r(0, 12_500)],
    })
    expect(report.packets).toEqual([
      { sendTimeMs: 0, sizeBytes: 100, arrivalTimeMs: 6401 },
      { sendTimeMs: 5, sizeBytes: 200, probeId: 3, arrivalTimeMs: null },
      { sendTimeMs: 10, sizeBytes: 300, arrivalTimeMs: 6412.5 },
    ])
    expect(history.outstanding).toBe(0)
  })

  it('reports a packet once, skips unknown numbers and no-delta arrivals, unwraps the reference time', () => {
    const history = new SendHistory()
    for (let i = 0; i < 4; i++) history.add(i * 10, 1000)
    const feedback = (referenceTime: number, base: number, packets: TwccFeedback['packets']) =>
      history.onFeedback({
        senderSsrc: 0,
        mediaSsrc: 0,
        baseSequence: base,
        referenceTime,
        feedbackCount: 0,
        packets,
      })
    expect(feedback(0xffffff, 0, [r(0, 0), { sequence: 1, received: true }]).packets).toHaveLength(1)
    expect(feedback(0xffffff, 0, [r(0, 0)]).packets).toEqual([])
    // The reference time wrapped from 0xffffff to 0: one 64 ms unit later, not 12 days earlier.
    const wrapped = feedback(0, 2, [r(2, 0), r(3, 1000), r(4, 2000)])
    expect(wrapped.packets.map((p) => p.arrivalTimeMs)).toEqual([0xffffff * 64 + 64, 0xffffff * 64 + 65])
  })
})
