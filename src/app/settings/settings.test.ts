import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SETTINGS_FILE, loadSettings, saveSettings } from './settings'

const root = mkdtempSync(join(tmpdir(), 'pinhole-settings-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = (): string => join(root, String(n++))

describe('settings.json', () => {
  it('a new profile: no file, defaults without a warning, a random positive uid', () => {
    const { settings, warning } = loadSettings(freshDir())
    expect(warning).toBeUndefined()
    expect(settings.cloudProxy).toBeUndefined()
    expect(settings.region).toBeUndefined()
    expect(settings.channel).toBe('demo')
    expect(settings.uid).toBeGreaterThan(0)
  })

  it('round-trips, written atomically (no temporary file left) and private', () => {
    const dir = freshDir()
    saveSettings(dir, { cloudProxy: 2, region: 'sh', channel: 'room', uid: 42 })
    expect(loadSettings(dir)).toEqual({ settings: { cloudProxy: 2, region: 'sh', channel: 'room', uid: 42 } })
    expect(readdirSync(dir)).toEqual([SETTINGS_FILE])
    expect(statSync(join(dir, SETTINGS_FILE)).mode & 0o077).toBe(0)
  })

  it('keeps the chosen devices; an invalid devices entry falls back alone', () => {
    const dir = freshDir()
    const devices = { microphoneId: 'mic-1', microphoneLabel: 'Jabra Evolve2 65' }
    saveSettings(dir, { channel: 'room', uid: 42, devices })
    expect(loadSettings(dir).settings.devices).toEqual(devices)
    writeFileSync(
      join(dir, SETTINGS_FILE),
      JSON.stringify({ channel: 'room', uid: 42, devices: { cameraId: 1 } }),
    )
    const { settings, warning } = loadSettings(dir)
    expect(warning).toMatch(/invalid devices/)
    expect(settings).toMatchObject({ channel: 'room', uid: 42 })
    expect(settings.devices).toBeUndefined()
  })

  it.each([
    ['not JSON', '{"cloudProxy": 1,'],
    ['an array', '[1, 2]'],
    ['null', 'null'],
  ])('%s → defaults, a warning, and the bad file kept as .corrupt', (_what, text) => {
    const dir = freshDir()
    saveSettings(dir, { channel: 'x', uid: 1 })
    writeFileSync(join(dir, SETTINGS_FILE), text)
    const { settings, warning } = loadSettings(dir)
    expect(warning).toMatch(/using defaults/)
    expect(settings.channel).toBe('demo')
    expect(readFileSync(join(dir, `${SETTINGS_FILE}.corrupt`), 'utf8')).toBe(text)
  })

  it('an invalid field falls back alone, and the warning names it', () => {
    const dir = freshDir()
    saveSettings(dir, { channel: 'x', uid: 1 })
    const file = join(dir, SETTINGS_FILE)
    writeFileSync(
      file,
      JSON.stringify({ cloudProxy: 9, region: 'sh', channel: 'room', uid: -1, extra: true }),
    )
    const { settings, warning } = loadSettings(dir)
    expect(warning).toMatch(/invalid cloudProxy, uid/)
    expect(settings).toMatchObject({ region: 'sh', channel: 'room' })
    expect(settings.cloudProxy).toBeUndefined()
    expect(settings.uid).toBeGreaterThan(0)
    expect(existsSync(`${file}.corrupt`)).toBe(true)
  })
})
