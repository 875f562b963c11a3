import { describe, expect, it, vi } from 'vitest'
import { SfuError } from '../errors'
import { Negotiator, type NegotiatorIo } from './negotiator'

type Offer = { seq: number }

function setup(options: { failApply?: boolean; timeoutMs?: number } = {}) {
  const sent: Offer[] = []
  const settled: number[] = []
  const timedOut: number[] = []
  const io: NegotiatorIo<Offer> = {
    createOffer: async (seq) => ({ seq }),
    applyAnswer: async () => {
      if (options.failApply) throw new Error('bad sdp')
    },
    sendOffer: (offer) => sent.push(offer),
    settled: (seq) => settled.push(seq),
    timedOut: (seq) => timedOut.push(seq),
    failed: () => undefined,
  }
  const negotiator = new Negotiator(io, options.timeoutMs ?? 1000)
  const flush = () => new Promise((resolve) => setTimeout(resolve, 0))
  return { negotiator, sent, settled, timedOut, flush }
}

describe('Negotiator', () => {
  it('folds changes made in one go into one offer', async () => {
    const { negotiator, sent, flush } = setup()
    negotiator.request()
    negotiator.request()
    negotiator.request()
    await flush()
    expect(sent).toEqual([{ seq: 1 }])
    expect(negotiator.state).toBe('awaiting')
  })

  it('keeps one offer in flight and sends the next when the answer lands', async () => {
    const { negotiator, sent, settled, flush } = setup()
    negotiator.request()
    await flush()
    negotiator.request()
    await flush()
    expect(sent).toHaveLength(1)

    expect(await negotiator.handleAnswer(1, 'v=0')).toBe('applied')
    await flush()

    expect(settled).toEqual([1])
    expect(sent).toEqual([{ seq: 1 }, { seq: 2 }])
  })

  it.each([
    ['an answer with another seq', 2],
    ['an answer with an old seq', 0],
  ])('calls %s stale and keeps waiting', async (_name, seq) => {
    const { negotiator, flush } = setup()
    negotiator.request()
    await flush()
    expect(await negotiator.handleAnswer(seq, 'v=0')).toBe('stale')
    expect(negotiator.state).toBe('awaiting')
  })

  it('calls an answer with nothing outstanding stale', async () => {
    const { negotiator } = setup()
    expect(await negotiator.handleAnswer(1, 'v=0')).toBe('stale')
  })

  it('keeps the offer outstanding when its answer cannot be applied, and resends it', async () => {
    const { negotiator, flush } = setup({ failApply: true })
    negotiator.request()
    await flush()

    await expect(negotiator.handleAnswer(1, 'garbage')).rejects.toMatchObject({ code: 'negotiation_failed' })

    expect(negotiator.state).toBe('awaiting')
    expect(negotiator.resend()).toEqual({ seq: 1 })
  })

  it('reports an unanswered offer once its timeout passes', async () => {
    vi.useFakeTimers()
    try {
      const { negotiator, timedOut } = setup({ timeoutMs: 500 })
      negotiator.request()
      await vi.advanceTimersByTimeAsync(499)
      expect(timedOut).toEqual([])
      await vi.advanceTimersByTimeAsync(1)
      expect(timedOut).toEqual([1])
    } finally {
      vi.useRealTimers()
    }
  })

  it('rejects calls once closed', async () => {
    const { negotiator } = setup()
    negotiator.close()
    expect(() => negotiator.request()).toThrow(SfuError)
    await expect(negotiator.handleAnswer(1, 'v=0')).rejects.toMatchObject({ code: 'closed' })
  })
})
