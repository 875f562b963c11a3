import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../e2e/support/fakeClock'
import { PROBE_PACKET_BYTES, ProbeSender } from './probeSender'

describe('ProbeSender', () => {
  it.each([
    // 1 Mbit/s for 100 ms is 12 500 bytes: 13 packets, one every 8 ms
    { bitrateBps: 1_000_000, durationMs: 100, packets: 13, spanMs: 96 },
    // 200 kbit/s for 100 ms is 2 500 bytes: at least 6 packets, 40 ms apart
    { bitrateBps: 200_000, durationMs: 100, packets: 6, spanMs: 200 },
  ])('$bitrateBps bit/s for $durationMs ms: $packets packets spread at the probe rate', async (c) => {
    const clock = new FakeClock()
    const sent: { at: number; id: number; bytes: number }[] = []
    const probes = new ProbeSender(clock, (id, bytes) => sent.push({ at: clock.now(), id, bytes }))
    probes.start({ id: 7, bitrateBps: c.bitrateBps, durationMs: c.durationMs })
    expect(sent).toHaveLength(1) // the first one at once
    await clock.advance(1000)
    expect(sent).toHaveLength(c.packets)
    expect(sent.every((p) => p.id === 7 && p.bytes === PROBE_PACKET_BYTES)).toBe(true)
    expect(sent.at(-1)!.at - sent[0]!.at).toBeGreaterThanOrEqual(c.spanMs - 2)
    expect(sent.at(-1)!.at - sent[0]!.at).toBeLessThanOrEqual(c.spanMs + 2)
  })

  it('a new cluster replaces a running one; stop ends it', async () => {
    const clock = new FakeClock()
    const sent: number[] = []
    const probes = new ProbeSender(clock, (id) => sent.push(id))
    probes.start({ id: 1, bitrateBps: 100_000, durationMs: 100 })
    await clock.advance(100)
    probes.start({ id: 2, bitrateBps: 100_000, durationMs: 100 })
    await clock.advance(50)
    probes.stop()
    await clock.advance(1000)
    expect(sent.filter((id) => id === 1).length).toBeLessThan(
      ProbeSender.packetsFor({ id: 1, bitrateBps: 100_000, durationMs: 100 }),
    )
    expect(sent.filter((id) => id === 2).length).toBe(1)
  })
})
