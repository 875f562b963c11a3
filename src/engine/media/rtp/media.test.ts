import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../../e2e/support/fakeClock'
import { OpusReceiver, OpusSender } from './opus'
import { Pacer } from './pacer'
import { LocalMediaClock, RemoteMediaClock, Unwrapper } from './sequence'

describe('Unwrapper', () => {
  it.each([
    ['forward across the 16-bit wrap', 16, [65_534, 65_535, 0, 1], [65_534, 65_535, 65_536, 65_537]],
    ['a late packet from before the wrap', 16, [65_535, 0, 65_534, 1], [65_535, 65_536, 65_534, 65_537]],
    ['32-bit timestamps', 32, [2 ** 32 - 10, 5], [2 ** 32 - 10, 2 ** 32 + 5]],
  ] as const)('%s', (_name, bits, input, expected) => {
    const unwrapper = new Unwrapper(bits)
    expect(input.map((value) => unwrapper.unwrap(value))).toEqual(expected)
  })
})

describe('media clocks', () => {
  it('local µs → RTP ticks from a given offset, wrapping at 2^32', () => {
    const clock = new LocalMediaClock(90_000, 2 ** 32 - 900)
    expect([0, 10_000, 20_000, 33_333].map((us) => clock.toRtp(1_000_000 + us))).toEqual([
      2 ** 32 - 900,
      0,
      900,
      2100,
    ])
  })

  it('remote RTP → receiver µs, anchored at the first arrival, keeping the sender spacing across a wrap', () => {
    const clock = new RemoteMediaClock(48_000)
    expect(clock.toMicroseconds(2 ** 32 - 960, 5_000_000)).toBe(5_000_000)
    expect(clock.toMicroseconds(0, 9_999_999)).toBe(5_020_000)
    expect(clock.toMicroseconds(960, 0)).toBe(5_040_000)
  })
})

describe('Opus', () => {
  it('one packet per frame, marker on the first of a talkspurt, bytes intact; oversize refused', () => {
    const sender = new OpusSender({ payloadType: 111 })
    const data = Uint8Array.from([0xf8, 1, 2, 3])
    const [first, ...rest] = sender.packetize(data, 960)
    expect(rest).toEqual([])
    expect(first!.header.marker).toBe(true)
    expect(sender.packetize(data, 1920)[0]!.header.marker).toBe(false)
    expect([...first!.payload]).toEqual([...data])
    expect(() => sender.packetize(new Uint8Array(1201), 0)).toThrow(RangeError)
  })

  it('the receiver drops duplicates and late packets, and keeps order across the wrap', () => {
    const receiver = new OpusReceiver()
    const push = (sequenceNumber: number) =>
      receiver.push({
        sequenceNumber,
        timestamp: sequenceNumber * 960,
        payload: Uint8Array.of(sequenceNumber & 0xff),
      })
    expect([65_534, 65_535, 65_535, 0, 65_533, 2].map((s) => push(s) !== undefined)).toEqual([
      true,
      true,
      false,
      true,
      false,
      true,
    ])
  })
})

describe('Pacer', () => {
  const make = (clock: FakeClock, dropped: number[] = []) => {
    const sent: string[] = []
    const pacer = new Pacer<string>((item) => sent.push(`${clock.now()}:${item}`), {
      rateBps: 8000 * 1000, // 1000 bytes per ms
      burstBytes: 2000,
      maxQueueMs: 10,
      minQueueBytes: 0,
      clock,
      onVideoDropped: (n) => dropped.push(n),
    })
    return { pacer, sent }
  }

  it('lets a burst out at once and spreads the rest at the rate, audio first', async () => {
    const clock = new FakeClock()
    const { pacer, sent } = make(clock)
    pacer.enqueue('video', ['v1', 'v2', 'v3', 'v4'], () => 1000)
    pacer.enqueue('audio', ['a1'], () => 100)
    expect(sent).toEqual(['0:v1', '0:v2'])
    await clock.advance(5)
    expect(sent).toEqual(['0:v1', '0:v2', '1:a1', '2:v3', '3:v4'])
    expect(pacer.queued).toBe(0)
  })

  it('drops a video queue longer than maxQueueMs whole and says so', async () => {
    const clock = new FakeClock()
    const dropped: number[] = []
    const { pacer, sent } = make(clock, dropped)
    pacer.enqueue(
      'video',
      Array.from({ length: 14 }, (_, i) => `v${i}`),
      () => 1000,
    )
    expect(dropped).toEqual([14])
    expect(sent).toEqual([])
    pacer.enqueue('video', ['k'], () => 1000)
    expect(sent).toEqual(['0:k'])
    pacer.close()
    pacer.enqueue('video', ['late'], () => 1)
    await clock.advance(100)
    expect(sent).toEqual(['0:k'])
  })
  it('follows setRate (never above the configured rate); the queue limit moves with it', async () => {
    const clock = new FakeClock()
    const dropped: number[] = []
    const { pacer, sent } = make(clock, dropped)
    pacer.setRate(8000 * 100) // 100 bytes per ms: 10 ms of queue is 1000 bytes
    pacer.enqueue('video', ['v1', 'v2', 'v3'], () => 500)
    expect(dropped).toEqual([3])
    pacer.enqueue('audio', ['a'], () => 2000) // empties the bucket
    pacer.enqueue('video', ['w1', 'w2'], () => 500)
    expect(sent).toEqual(['0:a'])
    await clock.advance(4)
    expect(sent).toEqual(['0:a'])
    await clock.advance(10)
    expect(sent).toEqual(['0:a', '5:w1', '10:w2'])
    pacer.setRate(1e12)
    expect(pacer.rate).toBe(8000 * 1000)
  })

  it('lets out 40 ms of the rate at once, not the whole 24 kB bucket, when the rate is low', async () => {
    // 600 kbit/s (75 bytes per ms): the bucket is 3000 bytes. A 12 kB key frame at once would be 160 ms
    // of a link this rate fits, in its queue in one go.
    const clock = new FakeClock()
    const sent: number[] = []
    const pacer = new Pacer<number>((item) => sent.push(item), { clock })
    pacer.setRate(600_000)
    pacer.enqueue(
      'video',
      Array.from({ length: 10 }, (_, i) => i),
      () => 1200,
    )
    expect(sent).toEqual([0, 1])
    await clock.advance(16)
    expect(sent).toEqual([0, 1, 2])
    await clock.advance(200)
    expect(sent).toHaveLength(10)
    // At a high rate the bucket is the configured 24 kB, as before.
    pacer.setRate(20_000_000)
    await clock.advance(100)
    pacer.enqueue(
      'video',
      Array.from({ length: 20 }, (_, i) => 100 + i),
      () => 1200,
    )
    expect(sent).toHaveLength(30)
    pacer.close()
  })

  it('at a low rate a key frame longer than maxQueueMs still goes out: the limit has a floor', async () => {
    const clock = new FakeClock()
    const dropped: number[] = []
    const sent: string[] = []
    // 100 kbit/s: 500 ms is 6 250 bytes, a 30 kB key frame is 2.4 s; the floor is 64 kB.
    const pacer = new Pacer<string>((item) => sent.push(item), {
      rateBps: 100_000,
      clock,
      onVideoDropped: (n) => dropped.push(n),
    })
    pacer.enqueue(
      'video',
      Array.from({ length: 25 }, (_, i) => `k${i}`),
      () => 1200,
    )
    expect(dropped).toEqual([])
    await clock.advance(3000)
    expect(sent).toHaveLength(25)
    pacer.enqueue(
      'video',
      Array.from({ length: 60 }, (_, i) => `v${i}`),
      () => 1200,
    )
    expect(dropped).toEqual([60]) // 72 kB over the floor: dropped whole, as before
    pacer.close()
  })
})
