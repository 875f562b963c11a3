import { randomBytes, randomInt } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { DeviceSettingsSchema, type DeviceSettings } from '../../shared/devices'
import type { RegionChoice, TransportType } from '../../shared/engine'
import { UI_LANGUAGES, type UiLanguage } from '../../shared/ipc'
import { CHANNEL_NAME_MAX } from '../../shared/joinRules'
import { DisplayNameSchema } from '../../shared/signaling'

/**
 * The user's settings, persisted as JSON in the data folder the host gives (Electron: userData). Written
 * atomically (temporary file + rename), so a crash never leaves half a file. A file that does not parse,
 * or a field that is not valid, falls back to the default and produces a warning; the bad file is kept
 * next to it as `settings.json.corrupt` for a person to look at.
 */

export const SETTINGS_FILE = 'settings.json'

/** What the user chose. No proxy mode or region yet: the app's default (src/app/settings/policy.ts) applies. */
export interface UserSettings {
  cloudProxy?: TransportType
  region?: RegionChoice
  channel: string
  uid: number
  /** The language chosen in the app; absent: the OS locale decides (docs/i18n.md). */
  language?: UiLanguage
  /** The camera, microphone and speaker (ids with labels); absent: the system defaults. */
  devices?: DeviceSettings
  /** The name the last join gave (shown on this user's tiles to the others); absent: none given. */
  displayName?: string
}

const FIELDS = {
  cloudProxy: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  region: z.string().min(1).max(64),
  // The last join's channel, only to prefill the form: the join checks it (64 code points ≤ 128 units).
  channel: z.string().max(CHANNEL_NAME_MAX * 2),
  uid: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  language: z.enum(UI_LANGUAGES),
  devices: DeviceSettingsSchema,
  displayName: DisplayNameSchema,
} satisfies Record<keyof UserSettings, z.ZodType>

/**
 * Defaults for a new profile: no proxy mode or region chosen (policy.ts's APP_DEFAULTS apply: automatic
 * mode, region auto), a demo channel, and a random uid so two profiles on one computer do not collide in
 * a channel.
 */
export function defaultSettings(): UserSettings {
  return { channel: 'demo', uid: randomInt(1000, 1_000_000) }
}

export interface LoadedSettings {
  settings: UserSettings
  /** Set when the file could not be used as it was. */
  warning?: string
}

export function loadSettings(dataDir: string): LoadedSettings {
  const file = join(dataDir, SETTINGS_FILE)
  const defaults = defaultSettings()
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { settings: defaults }
    return { settings: defaults, warning: `cannot read ${file} (${String(error)}): using defaults` }
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    keepCorrupt(file, text)
    return { settings: defaults, warning: `${file} is not valid JSON: using defaults (kept as .corrupt)` }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    keepCorrupt(file, text)
    return { settings: defaults, warning: `${file} is not a JSON object: using defaults (kept as .corrupt)` }
  }
  const record = raw as Record<string, unknown>
  const settings = { ...defaults }
  const bad: string[] = []
  for (const key of Object.keys(FIELDS) as (keyof UserSettings)[]) {
    if (!(key in record)) continue
    const parsed = FIELDS[key].safeParse(record[key])
    if (parsed.success) (settings as Record<string, unknown>)[key] = parsed.data
    else bad.push(key)
  }
  if (bad.length === 0) return { settings }
  keepCorrupt(file, text)
  return { settings, warning: `${file}: invalid ${bad.join(', ')}: using the defaults for them` }
}

/** Atomic: a complete temporary file renamed over the old one. */
export function saveSettings(dataDir: string, settings: UserSettings): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, SETTINGS_FILE)
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const { cloudProxy, region, channel, uid, devices, language, displayName } = settings
  const text = JSON.stringify({ cloudProxy, region, channel, uid, devices, language, displayName }, null, 2)
  writeFileSync(temp, `${text}\n`, { mode: 0o600 })
  try {
    renameSync(temp, file)
  } catch (error) {
    unlinkSync(temp)
    throw error
  }
}

function keepCorrupt(file: string, text: string): void {
  try {
    writeFileSync(`${file}.corrupt`, text, { mode: 0o600 })
  } catch {
    // Keeping a copy is a courtesy; the warning says what happened either way.
    return
  }
}
