import { describe, expect, it } from 'vitest'
import { formatResolution, layerWords, qualityWords } from './videoWords'

describe('video words', () => {
  it.each([
    [undefined, '—'],
    [0, 'unknown (0)'],
    [1, 'excellent (1)'],
    [3, 'poor (3)'],
    [6, 'down (6)'],
  ] as const)('quality %s → %s', (quality, words) => {
    expect(qualityWords(quality)).toBe(words)
  })

  it.each([
    [0, 'base · ¼ rate'],
    [1, '2 of 3 · ½ rate'],
    [2, 'all 3 · full rate'],
    [undefined, 'single layer'],
  ])('layer %s → %s', (layer, words) => {
    expect(layerWords(layer)).toBe(words)
  })

  it('resolution', () => {
    expect(formatResolution(640, 360)).toBe('640×360')
    expect(formatResolution(undefined, undefined)).toBe('—')
  })
})
