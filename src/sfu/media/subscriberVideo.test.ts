import { Registry } from 'prom-client'
import { RtpHeader, RtpPacket } from 'werift'
import { describe, expect, it } from 'vitest'
import { LayerMetrics } from './layerMetrics'
import { LayerRates } from './layerRates'
import { KEYFRAME_REQUEST_MAX_MS, SubscriberVideo } from './subscriberVideo'
import { parseVp8LayerInfo } from './vp8Layers'
import { MAX_SHARE, MIN_BUCKET_BYTES } from './retransmitBudget'

/** One packet of a base-layer VP8 frame (X, I with 15 bits, L, T), `bytes` long in all. */
function packet(seq: number, pictureId: number, key: boolean, start: boolean, bytes: number): RtpPacket {
  const payload = Buffer.alloc(bytes, 0xaa)
  payload.set([0x80 | (start ? 0x10 : 0), 0xe0, 0x80 | (pictureId >> 8), pictureId & 0xff, 1, 0, key ? 0 : 1])
  const header = new RtpHeader({ sequenceNumber: seq, timestamp: pictureId * 3000, payloadType: 96, ssrc: 1 })
  return new RtpPacket(header, payload)
}

class Publisher {
  private seq = 1000
  private pictureId = 100

  constructor(private readonly subscriber: SubscriberVideo) {}

  /** One frame of `packets` packets of `bytes`, forwarded at `nowMs`. */
  frame(key: boolean, packets: number, bytes: number, nowMs: number): void {
    for (let i = 0; i < packets; i += 1) {
      const p = packet(this.seq++, this.pictureId, key, i === 0, bytes)
      expect(this.subscriber.forward(p, parseVp8LayerInfo(p.payload)!, nowMs)).toBeDefined()
    }
    this.pictureId += 1
  }

  /** `packets` sequence numbers lost before the server. */
  skip(packets: number): void {
    this.seq += packets
  }
}

describe('SubscriberVideo key frame requests', () => {
  const subscriber = () => new SubscriberVideo(new LayerRates(), new LayerMetrics(new Registry(), 'test_'))

  it('holds a thinned subscriber’s requests, never longer than KEYFRAME_REQUEST_MAX_MS however low its estimate', () => {
    // bench:network's step: a 40 kB key frame at the high rate, then the link drops and the server forwards
    // the base layer (4 kB/s) at 50 % loss: the estimate falls to 16 kbit/s, 20 s per key frame of that size.
    const video = subscriber()
    const publisher = new Publisher(video)
    publisher.frame(true, 40, 1000, 0)
    video.onReceiverReport({ fractionLost: 0.5, jitterMs: 5 })
    publisher.frame(false, 1, 500, 1000)
    for (let t = 1100; t <= 2000; t += 100) publisher.frame(false, 1, 400, t)
    video.onReceiverReport({ fractionLost: 0.5, jitterMs: 5 })
    publisher.frame(false, 1, 400, 2100)

    expect(video.allowKeyframeRequest(2200)).toBe(true)
    // Still limited: the engine asks every 500 ms while it has nothing to decode.
    expect(video.allowKeyframeRequest(2700)).toBe(false)
    expect(video.allowKeyframeRequest(2200 + KEYFRAME_REQUEST_MAX_MS - 100)).toBe(false)
    // The key frame it asked for was lost: the next request goes through, not 40 s later.
    expect(video.allowKeyframeRequest(2200 + KEYFRAME_REQUEST_MAX_MS)).toBe(true)
    expect(video.allowKeyframeRequest(2200 + KEYFRAME_REQUEST_MAX_MS + 500)).toBe(false)
  })

  it('lets every request through while nothing limits the subscriber’s link', () => {
    const video = subscriber()
    new Publisher(video).frame(true, 10, 1000, 0)
    expect(video.allowKeyframeRequest(100)).toBe(true)
    expect(video.allowKeyframeRequest(200)).toBe(true)
  })
})

describe('SubscriberVideo loss', () => {
  it('counts a packet lost before the server once, however often the subscriber NACKs it again', () => {
    const video = new SubscriberVideo(new LayerRates(), new LayerMetrics(new Registry(), 'test_'))
    const publisher = new Publisher(video)
    publisher.frame(true, 10, 1000, 0)
    // 8 packets lost upstream: a gap in what the server forwards, which the subscriber NACKs.
    publisher.skip(8)
    for (let t = 100; t <= 900; t += 100) publisher.frame(false, 1, 500, t)
    const gap = Array.from({ length: 8 }, (_, i) => 1010 + i)
    video.onNack(gap, 150)
    video.onReceiverReport({ fractionLost: 0, jitterMs: 5 })
    publisher.frame(false, 1, 500, 1000) // the interval ends: the gaps are the server's, not the link's
    // The base layer only now (a few packets a second), and the same unrepaired gap NACKed again.
    for (let t = 1300; t <= 2000; t += 300) publisher.frame(false, 1, 500, t)
    video.onNack(gap, 1500)
    video.onReceiverReport({ fractionLost: 0, jitterMs: 5 })
    publisher.frame(false, 1, 500, 2100)

    // Nothing lossy was seen: no estimate limits the subscriber, so its requests are not held.
    expect(video.allowKeyframeRequest(2200)).toBe(true)
    expect(video.allowKeyframeRequest(2300)).toBe(true)
  })
})

describe('SubscriberVideo loss across intervals', () => {
  it('matches NACKs that come in the next interval with the gaps of the last one', () => {
    const video = new SubscriberVideo(new LayerRates(), new LayerMetrics(new Registry(), 'test_'))
    const publisher = new Publisher(video)
    publisher.frame(true, 10, 1000, 0)
    for (let t = 100; t <= 900; t += 100) publisher.frame(false, 1, 500, t)
    // 8 packets lost upstream just before the interval ends; the subscriber's NACKs come a round trip later.
    publisher.skip(8)
    video.onReceiverReport({ fractionLost: 0, jitterMs: 5 })
    publisher.frame(false, 1, 500, 1000)
    video.onNack(
      Array.from({ length: 8 }, (_, i) => 1019 + i),
      1100,
    )
    for (let t = 1300; t <= 2000; t += 300) publisher.frame(false, 1, 500, t)
    video.onReceiverReport({ fractionLost: 0, jitterMs: 5 })
    publisher.frame(false, 1, 500, 2100)

    expect(video.allowKeyframeRequest(2200)).toBe(true)
    expect(video.allowKeyframeRequest(2300)).toBe(true)
  })
})

describe('SubscriberVideo loss in receiver reports', () => {
  // bench:network's poor: the uplink overflowed at the start, the publisher's stream lost 83 packets before
  // the server (the subscriber NACKed them all in that interval); the subscriber's next receiver report,
  // covering that stretch, said 82 % lost, and the 19 packets of the next interval were taken as 16 lost
  // on its own link: the estimate fell to 62 kbit/s and held it on the base layer for the whole minute.
  it('takes the report’s loss over the packets it covers, less the gaps the server never had', () => {
    const video = new SubscriberVideo(new LayerRates(), new LayerMetrics(new Registry(), 'test_'))
    const publisher = new Publisher(video)
    publisher.frame(true, 10, 1000, 0)
    publisher.skip(83)
    for (let t = 100; t <= 900; t += 100) publisher.frame(false, 1, 500, t)
    video.onNack(
      Array.from({ length: 83 }, (_, i) => 1010 + i),
      300,
    )
    publisher.frame(false, 1, 500, 1000)
    // 83 of the 104 numbers since the start never came: all of them the upstream gap.
    video.onReceiverReport({ fractionLost: 0.8, jitterMs: 5 })
    for (let t = 1100; t <= 2000; t += 50) publisher.frame(false, 2, 500, t)

    expect(video.allowKeyframeRequest(2100)).toBe(true)
    expect(video.allowKeyframeRequest(2200)).toBe(true)
  })

  it('still counts what the report says the subscriber’s own link lost', () => {
    const video = new SubscriberVideo(new LayerRates(), new LayerMetrics(new Registry(), 'test_'))
    const publisher = new Publisher(video)
    publisher.frame(true, 10, 1000, 0)
    for (let t = 100; t <= 1000; t += 100) publisher.frame(false, 1, 500, t)
    // No gap upstream; a client that does not NACK reports 40 % lost.
    video.onReceiverReport({ fractionLost: 0.4, jitterMs: 5 })
    for (let t = 1100; t <= 2000; t += 50) publisher.frame(false, 2, 500, t)

    expect(video.allowKeyframeRequest(2100)).toBe(true)
    expect(video.allowKeyframeRequest(2200)).toBe(false)
  })
})

describe('SubscriberVideo retransmissions', () => {
  it('retransmits to a subscriber whose link lost packets no more than its budget beside the video', () => {
    const rates = new LayerRates()
    const video = new SubscriberVideo(rates, new LayerMetrics(new Registry(), 'test_'))
    const publisher = new Publisher(video)
    // The numbers as the subscriber sees them: werift adds its continuity offset (rtpOut.ts).
    const offset = 60_000
    const wire = (forwarded: number) => (forwarded + offset) & 0xffff
    // ~400 kbit/s of base-layer video: one 1000-byte packet every 20 ms, from sequence number 1000.
    const sendAt = (t: number) => {
      rates.add(0, 1000, t)
      publisher.frame(t === 0, 1, 1000, t)
    }
    for (let t = 0; t < 1000; t += 20) sendAt(t)
    // 40 % of it lost: the link is full, the estimate now below what is forwarded.
    video.onReceiverReport({ fractionLost: 0.4, jitterMs: 5 })
    let nacked = 0
    let retransmitted = 0
    for (let t = 1000; t < 2000; t += 20) {
      sendAt(t)
      // Every packet NACKed 100 ms after it was sent, as a receiver that asks at once would.
      const lost = wire(1000 + (t - 100) / 20)
      nacked += 1000
      retransmitted += video.onNack([lost], t, offset).length * 1000
    }
    expect(retransmitted).toBeGreaterThan(0)
    // At most half the forwarded rate (beside it, on a link it already overflows), plus the bucket.
    expect(retransmitted).toBeLessThanOrEqual(MAX_SHARE * nacked + MIN_BUCKET_BYTES)
  })
})
