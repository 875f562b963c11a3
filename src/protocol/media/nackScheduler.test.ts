import { describe, expect, it } from 'vitest'
import { GenericNack } from 'werift'
import {
  INITIAL_RTT_MS,
  MAX_AGE_MS,
  MAX_REQUESTS,
  MAX_TRACKED,
  MIN_INTERVAL_MS,
  NackScheduler,
  RTT_FACTOR,
  nackItems,
} from './nackScheduler'

/** Feeds `seqs` at `at` ms and returns what is due then. */
function feed(scheduler: NackScheduler, at: number, ...seqs: number[]): number[] {
  for (const seq of seqs) scheduler.received(seq, at)
  return scheduler.due(at)
}

describe('NackScheduler', () => {
  it('asks at once, then once per interval while the packet could still arrive, not ten times in 50 ms', () => {
    const nacks = new NackScheduler()
    expect(feed(nacks, 0, 10, 11, 13)).toEqual([12])
    const interval = Math.max(MIN_INTERVAL_MS, INITIAL_RTT_MS * RTT_FACTOR)
    // werift's receiver asked every 5 ms for 55 ms and then never again.
    for (let t = 5; t < interval; t += 5) expect(nacks.due(t)).toEqual([])
    expect(nacks.due(interval)).toEqual([12]) // the retransmission was lost too: asked again
    expect(nacks.nextDueMs()).toBe(2 * interval)
    expect(nacks.due(2 * interval)).toEqual([12])
  })

  it('forgets a number that arrived (late or repaired), and asks for nothing more', () => {
    const nacks = new NackScheduler()
    expect(feed(nacks, 0, 1, 4)).toEqual([2, 3])
    nacks.received(3, 20)
    expect(nacks.due(500)).toEqual([2])
    nacks.received(2, 510)
    expect(nacks.tracked).toBe(0)
    expect(nacks.nextDueMs()).toBeUndefined()
    expect(nacks.due(2000)).toEqual([])
  })

  it('gives a number up after its age or its request count', () => {
    const nacks = new NackScheduler()
    const interval = Math.max(MIN_INTERVAL_MS, INITIAL_RTT_MS * RTT_FACTOR)
    const asked = feed(nacks, 0, 1, 3)
    for (let t = interval; t <= MAX_AGE_MS + interval; t += interval) asked.push(...nacks.due(t))
    // One request per interval until the age runs out (the count bounds it on a long round trip).
    expect(asked.length).toBe(Math.min(MAX_REQUESTS, Math.floor(MAX_AGE_MS / interval) + 1))
    expect(nacks.tracked).toBe(0)
  })

  it('stops after its request count when the round trip is short', () => {
    const nacks = new NackScheduler()
    feed(nacks, 0, 1, 3)
    nacks.received(2, 5) // a 5 ms repair: the interval is the floor
    const asked = feed(nacks, 10, 5)
    for (let t = 10 + MIN_INTERVAL_MS; t <= MAX_AGE_MS; t += MIN_INTERVAL_MS) asked.push(...nacks.due(t))
    expect(asked).toEqual(Array.from({ length: MAX_REQUESTS }, () => 4))
    expect(nacks.due(10 + MAX_REQUESTS * MIN_INTERVAL_MS)).toEqual([]) // within its age, but asked enough
    expect(nacks.tracked).toBe(0)
  })

  it('follows the repair round trip (Karn: only a packet asked for once is a sample)', () => {
    const nacks = new NackScheduler()
    feed(nacks, 0, 1, 3)
    nacks.received(2, 400) // a repair that took 400 ms, asked once
    expect(nacks.rttMs).toBe(400)
    expect(feed(nacks, 1000, 5)).toEqual([4])
    expect(nacks.due(1000 + MIN_INTERVAL_MS)).toEqual([]) // 100 ms would ask while the first is on its way
    expect(nacks.due(1000 + 400 * RTT_FACTOR)).toEqual([4])
    nacks.received(4, 1000 + 400 * RTT_FACTOR + 10) // asked twice: which one it answers is unknown
    expect(nacks.rttMs).toBe(400)
  })

  it('counts across the 16-bit wrap', () => {
    const nacks = new NackScheduler()
    expect(feed(nacks, 0, 65533, 65534, 1)).toEqual([65535, 0])
    nacks.received(65535, 10)
    expect(nacks.due(200)).toEqual([0])
    expect(feed(nacks, 300, 0, 2, 3)).toEqual([])
    expect(nacks.tracked).toBe(0)
  })

  it('bounds a flood: the newest numbers tracked, and a huge jump starts over', () => {
    const nacks = new NackScheduler()
    const asked = feed(nacks, 0, 100, 100 + MAX_TRACKED + 51)
    expect(asked).toHaveLength(MAX_TRACKED)
    expect(asked[0]).toBe(100 + 51)
    expect(feed(nacks, 10, 30_000)).toEqual([]) // a sender restart, an outage: not 29,000 NACKs
    expect(nacks.tracked).toBe(0)
    expect(feed(nacks, 20, 30_002)).toEqual([30_001])
  })

  it('ignores duplicates and packets older than what it tracks', () => {
    const nacks = new NackScheduler()
    expect(feed(nacks, 0, 5, 5, 6, 2, 7)).toEqual([])
    expect(nacks.tracked).toBe(0)
  })
})

describe('nackItems', () => {
  it('packs numbers into PID+BLP items (RFC 4585), not across the wrap', () => {
    expect(nackItems([])).toEqual([])
    expect(nackItems([10, 11, 26, 27])).toEqual([
      { pid: 10, blp: 0b1 | (1 << 15) },
      { pid: 27, blp: 0 },
    ])
    expect(nackItems([65534, 65535, 0, 3])).toEqual([
      { pid: 65534, blp: 0b1 },
      { pid: 0, blp: 0b100 },
    ])
  })

  it('matches what a werift sender reads from one such item', () => {
    const items = nackItems([100, 101, 116])
    const body = Buffer.alloc(12)
    body.writeUInt16BE(items[0]!.pid, 8)
    body.writeUInt16BE(items[0]!.blp, 10)
    expect(items).toHaveLength(1)
    expect(GenericNack.deSerialize(body, undefined as never).lost).toEqual([100, 101, 116])
  })
})
