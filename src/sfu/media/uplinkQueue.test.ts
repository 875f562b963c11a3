import { describe, expect, it } from 'vitest'
import { UplinkQueue } from './uplinkQueue'

/**
 * Opus at 48 kHz: a packet every 20 ms (960 samples). `delayMs(t)` is what the packet captured at t ms
 * (sender's clock) takes to arrive; the two clocks differ by `offsetMs`. Returns the arrival of the last one.
 */
function audio(
  queue: UplinkQueue,
  fromMs: number,
  toMs: number,
  delayMs: (t: number) => number,
  { offsetMs = 123_456, firstTimestamp = 1000 } = {},
): number {
  let arrival = 0
  for (let t = fromMs; t < toMs; t += 20) {
    arrival = t + offsetMs + delayMs(t)
    queue.onPacket((firstTimestamp + t * 48) % 2 ** 32, arrival)
  }
  return arrival
}

describe('UplinkQueue (a participant’s uplink queue, from its audio’s timestamps)', () => {
  it('a steady path: no queue, whatever the clocks’ offset', () => {
    const q = new UplinkQueue()
    const last = audio(q, 0, 5000, () => 40)
    expect(q.queueMs(last)).toBe(0)
  })

  it('a queue building on the uplink: what the packets have above the floor', () => {
    const q = new UplinkQueue()
    audio(q, 0, 3000, () => 40)
    // A full drop-tail queue: 150 ms more for every packet from 3 s on.
    const last = audio(q, 3000, 6000, () => 190)
    // Less the floor's rise over those 3 s (1 ms/s).
    expect(q.queueMs(last)).toBeGreaterThan(145)
    expect(q.queueMs(last)).toBeLessThanOrEqual(150)
  })

  it('one packet its sender sent late is not a queue: the least of the last 500 ms', () => {
    const q = new UplinkQueue()
    const last = audio(q, 0, 5000, (t) => (t === 4900 ? 300 : 40))
    expect(q.queueMs(last)).toBe(0)
  })

  it('nothing heard for 500 ms (muted, video only): 0, nothing taken off the round trip', () => {
    const q = new UplinkQueue()
    audio(q, 0, 3000, () => 40)
    const last = audio(q, 3000, 4000, () => 200)
    expect(q.queueMs(last)).toBeGreaterThan(155)
    expect(q.queueMs(last + 501)).toBe(0)
  })

  it('the RTP timestamp wrapping (32 bits) is no jump', () => {
    const q = new UplinkQueue()
    const last = audio(q, 0, 4000, () => 40, { firstTimestamp: 2 ** 32 - 48 * 1000 })
    expect(q.queueMs(last)).toBe(0)
  })

  it('a new timeline (an encoder restarted seconds behind) is not a queue: the floor starts again', () => {
    const q = new UplinkQueue()
    audio(q, 0, 3000, () => 40)
    // Timestamps continue from where the stream had got to after 10 s of no packets: each arrives 10 s "late".
    const last = audio(q, 3000, 5000, () => 40, { offsetMs: 123_456 + 10_000 })
    expect(q.queueMs(last)).toBe(0)
  })

  it('a sender clock that runs slow (500 ppm) does not build up into a queue', () => {
    const q = new UplinkQueue()
    const last = audio(q, 0, 120_000, (t) => 40 + t * 0.0005)
    // 60 ms of drift over 2 minutes; the floor follows it.
    expect(q.queueMs(last)).toBeLessThan(2)
  })

  it('without the floor rising, that drift would read as a queue (the case above is not vacuous)', () => {
    const q = new UplinkQueue()
    audio(q, 0, 1000, () => 40)
    const last = audio(q, 1000, 2000, (t) => 40 + (t - 1000) * 0.06)
    // 60 ms more within a second: far faster than the floor's 1 ms/s, so it is a queue.
    expect(q.queueMs(last)).toBeGreaterThan(25)
  })
})
