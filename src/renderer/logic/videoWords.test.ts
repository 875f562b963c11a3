import { beforeAll, describe, expect, it } from 'vitest'
import { createI18n } from '../i18n'
import { langOf, type Lang } from '../i18n/phrase'
import { formatResolution, layerWords, qualityWords } from './videoWords'

let en: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
})

describe('video words', () => {
  it.each([
    [undefined, '—'],
    [0, 'unknown (0)'],
    [1, 'excellent (1)'],
    [3, 'poor (3)'],
    [6, 'down (6)'],
  ] as const)('quality %s → %s', (quality, words) => {
    expect(qualityWords(en, quality)).toBe(words)
  })

  it.each([
    [0, 'base · ¼ rate'],
    [1, '2 of 3 · ½ rate'],
    [2, 'all 3 · full rate'],
    [undefined, 'single layer'],
  ])('layer %s → %s', (layer, words) => {
    expect(layerWords(en, layer)).toBe(words)
  })

  it('resolution', () => {
    expect(formatResolution(640, 360)).toBe('640×360')
    expect(formatResolution(undefined, undefined)).toBe('—')
  })
})
