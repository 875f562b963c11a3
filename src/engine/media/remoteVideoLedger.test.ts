import { describe, expect, it } from 'vitest'
import { FREEZE_MS, RemoteVideoLedger } from './remoteVideoLedger'

/** 640x360 VP8 key frame header (RFC 6386 §9.1) and a delta frame's tag. */
const KEY = Uint8Array.of(0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0x00)
const DELTA = Uint8Array.of(0x51, 0, 0, 0)

/** One step of a stream's life at a time in ms: a packet (p), a frame (f: delta, k: key), a look (s), an end (e). */
type Step = [atMs: number, what: 'p' | 'f' | 'k' | 's' | 'e']

function run(steps: Step[]) {
  const ledger = new RemoteVideoLedger()
  const frozenAt: number[] = []
  for (const [at, what] of steps) {
    if (what === 'p' && ledger.packet(7, at, 1000, 1)) frozenAt.push(at)
    if (what === 'f' || what === 'k') ledger.frame(7, at, what === 'k' ? KEY : DELTA, what === 'k')
    if (what === 'e') ledger.streamEnded(7, at)
  }
  const last = steps.at(-1)![0]
  const [totals] = ledger.snapshot([7], last)
  return { frozenAt, totals: totals! }
}

/** Frames every 33 ms (a packet each) from `from` to `to`. */
function flowing(from: number, to: number): Step[] {
  const steps: Step[] = []
  for (let t = from; t <= to; t += 33) steps.push([t, 'p'], [t, 'f'])
  return steps
}

describe('RemoteVideoLedger: freezes (no frame for ≥ 500 ms while the user publishes)', () => {
  it.each<[string, Step[], { frozenAt: number[]; freezeCount: number; frozenMs: number }]>([
    [
      'frames every 33 ms: no freeze',
      [[0, 'k'], ...flowing(33, 3000)],
      { frozenAt: [], freezeCount: 0, frozenMs: 0 },
    ],
    [
      'a 480 ms gap with packets arriving: not a freeze',
      [
        [0, 'k'],
        [200, 'p'],
        [479, 'p'],
        [480, 'f'],
      ],
      { frozenAt: [], freezeCount: 0, frozenMs: 0 },
    ],
    [
      'packets but no frame: frozen at the first packet 500 ms after the last frame, and on every packet after',
      [
        [0, 'k'],
        [300, 'p'],
        [500, 'p'],
        [520, 'p'],
        [900, 'k'],
      ],
      { frozenAt: [500, 520], freezeCount: 1, frozenMs: 900 },
    ],
    [
      'no packets at all, then a frame: counted at the frame (gap 1200 ms)',
      [
        [0, 'k'],
        [1200, 'f'],
        [1200, 'p'],
        [1233, 'p'],
      ],
      { frozenAt: [], freezeCount: 1, frozenMs: 1200 },
    ],
    [
      'two freezes',
      [[0, 'k'], [600, 'p'], [700, 'k'], ...flowing(733, 1000), [1600, 'p'], [1800, 'f'], [1833, 'p']],
      { frozenAt: [600, 1600], freezeCount: 2, frozenMs: 700 + (1800 - 997) },
    ],
    [
      'a freeze still going on is counted and measured up to the look',
      [
        [0, 'k'],
        [700, 'p'],
        [2000, 's'],
      ],
      { frozenAt: [700], freezeCount: 1, frozenMs: 2000 },
    ],
    [
      'the user stops publishing: the freeze ends there, the silence after it is not one',
      [
        [0, 'k'],
        [600, 'p'],
        [800, 'e'],
        [5000, 'p'],
        [5000, 'k'],
        [5033, 'p'],
      ],
      { frozenAt: [600], freezeCount: 1, frozenMs: 800 },
    ],
    [
      'before the first frame there is nothing to freeze',
      [
        [0, 'p'],
        [700, 'p'],
        [1400, 'p'],
      ],
      { frozenAt: [], freezeCount: 0, frozenMs: 0 },
    ],
  ])('%s', (_name, steps, expected) => {
    const { frozenAt, totals } = run(steps)
    expect({ frozenAt, freezeCount: totals.freezeCount, frozenMs: totals.frozenMs }).toEqual(expected)
  })

  it('FREEZE_MS is 500', () => {
    expect(FREEZE_MS).toBe(500)
  })
})

describe('RemoteVideoLedger: counts', () => {
  it('bytes, packets, expected, frames, the last key frame size, the highest TID since the last look', () => {
    const ledger = new RemoteVideoLedger()
    ledger.packet(3, 0, 1212, 1, 0)
    ledger.frame(3, 0, KEY, true)
    ledger.packet(3, 33, 500, 3, 2)
    ledger.packet(3, 40, 500, 0, 1)
    ledger.frame(3, 40, DELTA, false)
    expect(ledger.snapshot([3, 4], 50)).toEqual([
      {
        uid: 3,
        bytes: 2212,
        packets: 3,
        expected: 4,
        frames: 2,
        freezeCount: 0,
        frozenMs: 0,
        width: 640,
        height: 360,
        temporalLayer: 2,
      },
    ])
    ledger.packet(3, 66, 500, 1, 0)
    expect(ledger.snapshot([3], 70)[0]).toMatchObject({ temporalLayer: 0, packets: 4 })
    expect(ledger.snapshot([3], 80)[0]).not.toHaveProperty('temporalLayer')
  })

  it('the shortest RTP timestamp step between frames in a row since the last look (wraps; pauses ignored)', () => {
    const ledger = new RemoteVideoLedger()
    const steps = (timestamps: number[]): number | undefined => {
      for (const ts of timestamps) ledger.frame(3, 0, DELTA, false, ts)
      return ledger.snapshot([3], 0)[0]!.frameIntervalTicks
    }
    expect(steps([0, 6000, 9000, 18_000])).toBe(3000)
    expect(steps([2 ** 32 - 3000, 3000])).toBe(6000)
    expect(steps([3000 + 180_000, 3000 + 180_000])).toBeUndefined()
  })

  it('a user whose stream ended is not listed (nor frozen) until their next packet', () => {
    const ledger = new RemoteVideoLedger()
    ledger.packet(3, 0, 1000, 1)
    ledger.frame(3, 0, KEY, true)
    ledger.streamEnded(3, 100)
    expect(ledger.snapshot([3], 2000)).toEqual([])
    ledger.packet(3, 3000, 1000, 1)
    expect(ledger.snapshot([3], 3000)).toMatchObject([{ uid: 3, packets: 2, freezeCount: 0, frozenMs: 0 }])
  })
})
