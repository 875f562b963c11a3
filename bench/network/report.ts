import { fixed, formatTable } from '../lib/table'
import type { SideFigures } from './metrics'
import type { BenchProfile } from './profiles'

/** The side-by-side table of bench:network and its JSON line. */

export interface ProfileResult {
  profile: BenchProfile
  ours: SideFigures
  native: SideFigures
  /** The machine's 1-minute load average at the end of each side's window (2 cores: above 2 it waits). */
  load: { ours: number | null; native: number | null }
}

const METRICS: { key: keyof SideFigures; label: string; digits: number }[] = [
  { key: 'g2g_p50_ms', label: 'glass-to-glass p50 ms', digits: 0 },
  { key: 'g2g_p95_ms', label: 'glass-to-glass p95 ms', digits: 0 },
  { key: 'freezes_per_min', label: 'freezes / min', digits: 2 },
  { key: 'frozen_ms', label: 'frozen ms', digits: 0 },
  { key: 'rx_fps', label: 'rx fps', digits: 1 },
  { key: 'rx_kbps', label: 'rx video kbps', digits: 0 },
  { key: 'audio_concealed_ratio', label: 'audio concealed', digits: 4 },
  { key: 'adapt_down_s', label: 'step: adapt down s', digits: 1 },
  { key: 'recover_s', label: 'step: recover s', digits: 1 },
]

const cell = (value: number | null | undefined, digits: number): string =>
  value === null || value === undefined ? '-' : fixed(value, digits)

function ratio(ours: number | null | undefined, native: number | null | undefined): string {
  if (ours === null || ours === undefined || native === null || native === undefined) return '-'
  if (native === 0) return ours === 0 ? '1.00' : '∞'
  return fixed(ours / native, 2)
}

function capacity(profile: BenchProfile): string {
  if (profile.step)
    return `${profile.step.highKbps} → ${profile.step.lowKbps} → ${profile.step.highKbps} kbit/s`
  return profile.capacityKbps === undefined ? 'uncapped' : `${profile.capacityKbps} kbit/s`
}

export function formatReport(results: readonly ProfileResult[]): string {
  const rows: string[][] = []
  for (const { profile, ours, native, load } of results) {
    for (const { key, label, digits } of METRICS) {
      if (!(key in ours) && !(key in native)) continue
      rows.push([
        profile.name,
        label,
        cell(ours[key], digits),
        cell(native[key], digits),
        ratio(ours[key], native[key]),
      ])
    }
    rows.push([profile.name, 'load average (1 min)', cell(load.ours, 1), cell(load.native, 1), ''])
    rows.push([profile.name, 'link each way', capacity(profile), '', ''])
  }
  return formatTable(['profile', 'figure', 'ours', 'native', 'ours/native'], rows)
}

/** `{profile: {ours: {...}, native: {...}}}` for every profile run. */
export function jsonLine(results: readonly ProfileResult[]): string {
  return JSON.stringify(
    Object.fromEntries(results.map(({ profile, ours, native }) => [profile.name, { ours, native }])),
  )
}
