import { describe, expect, it } from 'vitest'
import { MIN_RETRANSMIT_INTERVAL_MS, RetransmitPacer } from './nackPacing'

describe('RetransmitPacer', () => {
  it('one retransmission per packet per interval, however often it is NACKed', () => {
    const pacer = new RetransmitPacer()
    // A werift receiver: the same NACK every 5 ms, ten times.
    const sent = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45].flatMap((t) => pacer.allow([7, 8], t))
    expect(sent).toEqual([7, 8])
    expect(pacer.allow([8, 9], 50)).toEqual([9])
    expect(pacer.allow([7, 8, 9], MIN_RETRANSMIT_INTERVAL_MS)).toEqual([7, 8])
    expect(pacer.allow([9], 50 + MIN_RETRANSMIT_INTERVAL_MS)).toEqual([9])
  })

  it('remembers a bounded number of packets', () => {
    const pacer = new RetransmitPacer()
    const many = Array.from({ length: 5000 }, (_, i) => i)
    expect(pacer.allow(many, 0)).toHaveLength(5000)
    expect(pacer.allow([0], 1)).toEqual([0]) // forgotten: the oldest go first
    expect(pacer.allow([4999], 1)).toEqual([])
  })
})
