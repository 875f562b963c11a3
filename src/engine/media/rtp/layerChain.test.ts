import { describe, expect, it } from 'vitest'
import { LayerChain, type FrameLayer } from './layerChain'

const L = (temporalLayerId: number, tl0PicIdx: number, layerSync = false): FrameLayer => ({
  temporalLayerId,
  tl0PicIdx,
  layerSync,
})

describe('LayerChain (RFC 7741 temporal layer marks, Chromium L1T3 references)', () => {
  it('nothing is decodable before a key frame', () => {
    expect(new LayerChain().judge(L(0, 1))).toBe('broken')
  })

  it.each([
    ['next TL0 after a loss', L(0, 8), 'decodable'],
    ['a TL0 two groups on (one TL0 lost)', L(0, 9), 'broken'],
    ['TL1 of this group, sync', L(1, 7, true), 'decodable'],
    ['TL1 of this group, not sync', L(1, 7), 'skip'],
    ['TL2 sync', L(2, 7, true), 'decodable'],
    ['TL2 not sync, its TL1 not delivered', L(2, 7), 'skip'],
    ['TL2 of a group whose TL0 never came', L(2, 8, true), 'broken'],
  ])('after TL0 #7 and a loss: %s → %s', (_name, layer, verdict) => {
    const chain = new LayerChain()
    chain.keyFrame(L(0, 7))
    chain.lost()
    expect(chain.judge(layer)).toBe(verdict)
  })

  it('a TL2 frame that references the TL1 frame delivered after the loss is decodable', () => {
    const chain = new LayerChain()
    chain.keyFrame(L(0, 7))
    chain.lost()
    chain.delivered(L(1, 7, true))
    expect(chain.judge(L(2, 7))).toBe('decodable')
  })

  it('TL0PICIDX wraps at 256', () => {
    const chain = new LayerChain()
    chain.keyFrame(L(0, 255))
    expect(chain.judge(L(0, 0), true)).toBe('decodable')
  })

  it('without a loss every frame of the group is decodable', () => {
    const chain = new LayerChain()
    chain.keyFrame(L(0, 3))
    expect([L(2, 3, true), L(1, 3, true), L(2, 3)].map((l) => chain.judge(l))).toEqual([
      'decodable',
      'decodable',
      'decodable',
    ])
  })
})
