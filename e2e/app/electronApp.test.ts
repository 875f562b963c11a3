import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createContext, runInContext } from 'node:vm'
import type { Page } from 'playwright-core'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { regionsFromEnv } from '../../src/app/settings/envRegions'
import { defaultRunDir } from '../../src/app/stack/discovery'
import { policyPath } from '../../src/app/settings/policy'
import { profileUserData } from '../../src/main/profile'
import { ErrorCode } from '../../src/shared/errors'
import { invokeWireChannel } from '../../src/shared/ipc'
import type { FakeMedia } from '../browser/fakeMedia'
import {
  appLaunch,
  electronBinary,
  instanceLaunch,
  interceptInvokes,
  noDisplay,
  type BrowserWindowOf,
} from './electronApp'

/**
 * What e2e/app/electron.test.ts relies on, checked without the Electron binary: why it skips, the command
 * line and environment of each instance as src/main reads them, and the main-process code of the "nothing
 * was sent" check run the way Playwright runs it (its source, in a context of its own).
 */

const dir = mkdtempSync(join(tmpdir(), 'pinhole-electron-app-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => vi.unstubAllEnvs())

const red: FakeMedia = { video: join(dir, 'red.y4m'), audio: join(dir, 'red.wav'), color: 'red' }
const blue: FakeMedia = { video: join(dir, 'blue.y4m'), audio: join(dir, 'blue.wav'), color: 'blue' }

describe('why the Electron tests skip', () => {
  it('names a missing binary, from ELECTRON_BINARY or node_modules/electron', () => {
    expect(electronBinary({ ELECTRON_BINARY: join(dir, 'nope') }, dir)).toEqual({
      skip: `ELECTRON_BINARY=${join(dir, 'nope')} does not exist`,
    })
    expect(electronBinary({}, dir)).toEqual({
      skip: 'the Electron binary is not installed (node_modules/electron/path.txt is missing)',
    })
    const pkg = join(dir, 'node_modules', 'electron')
    mkdirSync(join(pkg, 'dist'), { recursive: true })
    writeFileSync(join(pkg, 'path.txt'), 'electron')
    expect(electronBinary({}, dir)).toEqual({
      skip: `the Electron binary ${join(pkg, 'dist', 'electron')} is missing`,
    })
    writeFileSync(join(pkg, 'dist', 'electron'), '')
    expect(electronBinary({}, dir)).toEqual({ path: join(pkg, 'dist', 'electron') })
  })

  it('needs a display on Linux only', () => {
    expect(noDisplay('linux', {})).toMatch(/xvfb-run/)
    expect(noDisplay('linux', { DISPLAY: ':99' })).toBeUndefined()
    expect(noDisplay('linux', { WAYLAND_DISPLAY: 'wayland-0' })).toBeUndefined()
    expect(noDisplay('darwin', {})).toBeUndefined()
  })
})

describe('two instances as src/main reads them', () => {
  it('Chromium switches before the main script: own fake devices, background work not throttled', () => {
    const { args } = instanceLaunch(dir, 'A', red, join(dir, 'run'))
    expect(args.at(-1)).toMatch(/out[\\/]main[\\/]index\.js$/)
    const switches = args.slice(0, -1)
    for (const arg of switches) expect(arg).toMatch(/^--[a-z-]+(=.+)?$/)
    expect(switches).toEqual(
      expect.arrayContaining([
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-video-capture=${red.video}`,
        `--use-file-for-fake-audio-capture=${red.audio}`,
        '--disable-background-timer-throttling',
      ]),
    )
  })

  it('own profile and settings each, one run directory, the embedded stack, no policy of this machine', () => {
    vi.stubEnv('ELECTRON_RUN_AS_NODE', '1')
    vi.stubEnv('ELECTRON_RENDERER_URL', 'http://localhost:5173')
    vi.stubEnv('PINHOLE_REGIONS', '[{"id":"x"}]')
    const runDir = join(dir, 'run')
    const [a, b] = [instanceLaunch(dir, 'A', red, runDir), instanceLaunch(dir, 'B', blue, runDir)]
    for (const { env } of [a, b]) {
      // Electron's appData on Linux is $XDG_CONFIG_HOME; index.ts sets userData from PINHOLE_PROFILE.
      expect(env['XDG_CONFIG_HOME']).toBe(join(dir, 'config'))
      expect(defaultRunDir(env)).toBe(runDir)
      expect(regionsFromEnv(env)).toBeUndefined()
      expect(policyPath({ env, allowEnvOverride: true, platform: 'linux' })).toBe(join(dir, 'no-policy.json'))
      expect(env).not.toHaveProperty('ELECTRON_RUN_AS_NODE')
      expect(env).not.toHaveProperty('ELECTRON_RENDERER_URL')
    }
    expect(profileUserData(join(dir, 'config'), a.env)).toBe(join(dir, 'config', 'Pinhole-e2e-A'))
    expect(profileUserData(join(dir, 'config'), b.env)).toBe(join(dir, 'config', 'Pinhole-e2e-B'))
    expect(a.env['PINHOLE_LOG_DIR']).not.toBe(b.env['PINHOLE_LOG_DIR'])
    expect(b.args).toContain(`--use-file-for-fake-video-capture=${blue.video}`)
  })

  it('the smoke test: extra variables on top, no switches', () => {
    const { args, env } = appLaunch(dir, [], { PINHOLE_PROFILE: 'e2e', PINHOLE_WINDOWS: '2' })
    expect(args).toHaveLength(1)
    expect(env).toMatchObject({ PINHOLE_PROFILE: 'e2e', PINHOLE_WINDOWS: '2' })
  })
})

/**
 * A BrowserWindow in a context of its own, as Electron's main process would have it: `webContents.ipc`
 * handlers win over `ipcMain`'s (Electron's documented order for invoke).
 */
function fakeMainProcess() {
  const context = createContext({})
  const scoped = new Map<string, () => unknown>()
  const window = {
    webContents: {
      id: 3,
      ipc: {
        handle: (channel: string, handler: () => unknown) => {
          if (scoped.has(channel)) throw new Error(`a second handler for ${channel}`)
          scoped.set(channel, handler)
        },
        removeHandler: (channel: string) => void scoped.delete(channel),
      },
    },
  }
  const reachedCore: string[] = []
  const invoke = (channel: string): unknown => {
    const handler = scoped.get(channel)
    if (handler) return handler()
    reachedCore.push(channel)
    return { ok: true, value: 0 }
  }
  const handle = {
    // What Playwright does: the function's source and a serialized argument, evaluated over there.
    evaluate: async (fn: (...args: never[]) => unknown, arg: unknown) => {
      context['__window'] = window
      context['__arg'] = JSON.parse(JSON.stringify(arg)) as unknown
      return runInContext(`(${fn.toString()})(__window, __arg)`, context) as unknown
    },
    dispose: vi.fn(async () => {}),
  }
  const app = { browserWindow: async () => handle } as unknown as BrowserWindowOf
  return { app, invoke, reachedCore, scoped, handle }
}

describe('interceptInvokes (the 414 scenario: nothing was sent)', () => {
  it('notes the watched invokes and answers them itself; others reach the core; stop removes it all', async () => {
    const main = fakeMainProcess()
    const stop = await interceptInvokes(main.app, {} as Page, ['joinChannel', 'getDevToken'])
    expect([...main.scoped.keys()]).toEqual([
      invokeWireChannel('joinChannel'),
      invokeWireChannel('getDevToken'),
    ])

    expect(main.invoke(invokeWireChannel('getSettings'))).toEqual({ ok: true, value: 0 })
    expect(main.invoke(invokeWireChannel('joinChannel'))).toMatchObject({
      ok: false,
      error: { code: ErrorCode.Internal },
    })
    expect(main.reachedCore).toEqual([invokeWireChannel('getSettings')])

    expect(await stop()).toEqual([invokeWireChannel('joinChannel')])
    expect(main.scoped.size).toBe(0)
    expect(main.handle.dispose).toHaveBeenCalled()
    main.invoke(invokeWireChannel('joinChannel'))
    expect(main.reachedCore).toEqual([invokeWireChannel('getSettings'), invokeWireChannel('joinChannel')])
  })

  it('nothing sent: an empty list; a second watch starts afresh', async () => {
    const main = fakeMainProcess()
    const first = await interceptInvokes(main.app, {} as Page, ['joinChannel'])
    main.invoke(invokeWireChannel('joinChannel'))
    await first()
    const second = await interceptInvokes(main.app, {} as Page, ['joinChannel'])
    expect(await second()).toEqual([])
  })
})
