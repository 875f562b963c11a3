import type { NetworkQuality } from '../../shared/engine'
import type { Lang } from '../i18n/phrase'

/** Words for the statistics panel's video figures (docs/renderer.md "Statistics"); pure. */

/** NERTC's 0–6 network quality scale, by its names (`stats:qualityName`). */
export function qualityWords(lang: Lang, quality: NetworkQuality | undefined): string {
  if (quality === undefined) return '—'
  return lang.t('stats:qualityValue', { name: lang.t(`stats:qualityName.${quality}`), quality })
}

export function formatResolution(width: number | undefined, height: number | undefined): string {
  return width === undefined || height === undefined ? '—' : `${width}×${height}`
}

/**
 * The VP8 temporal layers a tile receives (L1T3: the conference server forwards layer 0, 0–1 or all three
 * to each subscriber as its link allows). Without a layer id the sender encodes no layers: the full stream.
 */
export function layerWords(lang: Lang, temporalLayer: number | undefined): string {
  if (temporalLayer === 0 || temporalLayer === 1 || temporalLayer === 2) {
    return lang.t(`stats:layer.${temporalLayer}`)
  }
  return lang.t('stats:layer.single')
}
