import type { Lang } from '../i18n/phrase'

/**
 * Small formatters for the panels; pure, so the tests pin their output. The figure is written by `Intl`
 * in the language shown (digits, decimal mark, grouping), the unit comes from the catalogue (`stats:unit`).
 */

const NONE = '—'

function number(lang: Lang, value: number, digits: number): string {
  return new Intl.NumberFormat(lang.locale, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value)
}

const known = (value: number | undefined): value is number => value !== undefined && Number.isFinite(value)

export function formatClock(lang: Lang, atMs: number): string {
  return new Intl.DateTimeFormat(lang.locale, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
    hourCycle: 'h23',
  }).format(new Date(atMs))
}

export function formatMs(lang: Lang, ms: number | undefined): string {
  return known(ms) ? lang.t('stats:unit.ms', { value: number(lang, Math.round(ms), 0) }) : NONE
}

export function formatKbps(lang: Lang, kbps: number | undefined): string {
  if (!known(kbps)) return NONE
  return kbps >= 1000
    ? lang.t('stats:unit.mbps', { value: number(lang, kbps / 1000, 2) })
    : lang.t('stats:unit.kbps', { value: number(lang, Math.round(kbps), 0) })
}

/** A 0..1 fraction as a percentage. */
export function formatLoss(lang: Lang, fraction: number | undefined): string {
  if (!known(fraction)) return NONE
  const digits = fraction > 0 && fraction < 0.1 ? 1 : 0
  return lang.t('stats:unit.percent', { value: number(lang, fraction * 100, digits) })
}

export function formatFps(lang: Lang, fps: number | undefined): string {
  return known(fps) ? lang.t('stats:unit.fps', { value: number(lang, fps, 0) }) : NONE
}

/** A probe round trip: tenths below 10 ms (a LAN or loopback proxy answers in about a millisecond). */
export function formatRtt(lang: Lang, ms: number | undefined): string {
  if (!known(ms)) return NONE
  return lang.t('stats:unit.ms', { value: number(lang, ms, ms < 10 ? 1 : 0) })
}

/** A count or a whole number of milliseconds without a unit (the network check's duration). */
export function formatInteger(lang: Lang, value: number): string {
  return number(lang, Math.round(value), 0)
}
