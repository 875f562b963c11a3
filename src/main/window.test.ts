import { describe, expect, it } from 'vitest'
import { windowOptions } from './window'

describe('window security options', () => {
  const prefs = windowOptions('/app/preload.js').webPreferences

  it.each([
    ['contextIsolation', true],
    ['sandbox', true],
    ['nodeIntegration', false],
    ['nodeIntegrationInWorker', false],
    ['nodeIntegrationInSubFrames', false],
    ['webSecurity', true],
    ['allowRunningInsecureContent', false],
    ['webviewTag', false],
  ] as const)('%s is %s', (name, value) => {
    expect(prefs?.[name]).toBe(value)
  })

  it('loads the given preload', () => {
    expect(prefs?.preload).toBe('/app/preload.js')
  })
})
