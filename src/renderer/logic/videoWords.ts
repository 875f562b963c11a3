import type { NetworkQuality } from '../../shared/engine'

/** Words for the statistics panel's video figures (docs/renderer.md "Statistics"); pure. */

/** NERTC's names for its 0–6 network quality scale. */
const QUALITY_WORDS: Record<NetworkQuality, string> = {
  0: 'unknown',
  1: 'excellent',
  2: 'good',
  3: 'poor',
  4: 'bad',
  5: 'very bad',
  6: 'down',
}

export function qualityWords(quality: NetworkQuality | undefined): string {
  return quality === undefined ? '—' : `${QUALITY_WORDS[quality]} (${quality})`
}

export function formatResolution(width: number | undefined, height: number | undefined): string {
  return width === undefined || height === undefined ? '—' : `${width}×${height}`
}

/**
 * The VP8 temporal layers a tile receives (L1T3: the conference server forwards layer 0, 0–1 or all three
 * to each subscriber as its link allows). Without a layer id the sender encodes no layers: the full stream.
 */
export function layerWords(temporalLayer: number | undefined): string {
  if (temporalLayer === 0) return 'base · ¼ rate'
  if (temporalLayer === 1) return '2 of 3 · ½ rate'
  if (temporalLayer === 2) return 'all 3 · full rate'
  return 'single layer'
}
