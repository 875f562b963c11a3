import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserWindow } from 'electron'
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core'
import { ErrorCode } from '../../src/shared/errors'
import { invokeWireChannel, type InvokeChannel, type IpcReply } from '../../src/shared/ipc'
import { fakeMediaSwitches } from '../browser/browsers'
import type { FakeMedia } from '../browser/fakeMedia'
import { waitForApp, type Participant } from '../browser/participant'

/**
 * The built app under Playwright's `_electron` (e2e/app/electron.test.ts): where the binary is, why the
 * tests skip when it cannot run, and an Electron instance as a call participant for e2e/browser/scenarios.ts.
 * Unit-tested without the binary in electronApp.test.ts.
 */

/**
 * The binary, without `require('electron')` (which tries to download it when missing):
 * $ELECTRON_BINARY, else node_modules/electron's path.txt under its dist/.
 */
export function electronBinary(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): { path: string } | { skip: string } {
  const fromEnv = env['ELECTRON_BINARY']
  if (fromEnv)
    return existsSync(fromEnv) ? { path: fromEnv } : { skip: `ELECTRON_BINARY=${fromEnv} does not exist` }
  const dir = join(cwd, 'node_modules', 'electron')
  const pathFile = join(dir, 'path.txt')
  if (!existsSync(pathFile)) {
    return { skip: 'the Electron binary is not installed (node_modules/electron/path.txt is missing)' }
  }
  const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? { path: binary } : { skip: `the Electron binary ${binary} is missing` }
}

/** Electron opens real windows: on Linux it needs an X or Wayland display (xvfb-run gives one). */
export function noDisplay(
  platform: NodeJS.Platform = process.platform,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  if (platform !== 'linux' || env['DISPLAY'] || env['WAYLAND_DISPLAY']) return undefined
  return 'no display (DISPLAY and WAYLAND_DISPLAY are unset): run the tests under xvfb-run'
}

/** The built main process (`npm run build`). */
export const MAIN_SCRIPT = join(process.cwd(), 'out', 'main', 'index.js')

/**
 * Chromium switches for a window that runs a call while another has the focus: no throttled timers or
 * renderer in the background (Playwright adds these itself only when it starts Electron without an
 * executablePath).
 */
const CALL_SWITCHES = [
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]

/** Variables of this process that would change what the app under test is. */
const NOT_INHERITED = ['ELECTRON_RUN_AS_NODE', 'ELECTRON_RENDERER_URL']

export interface AppLaunch {
  /** Chromium switches, then the main script: Electron honours switches given on its command line. */
  args: string[]
  env: Record<string, string>
}

/**
 * How to start `main` with `switches` in an environment of its own under `dir`: config (so userData, with
 * PINHOLE_PROFILE) and logs there, no IT policy of this machine, no configured regions (so the embedded
 * stack), the built renderer rather than a dev server; `env` on top.
 */
export function appLaunch(
  dir: string,
  switches: readonly string[],
  env: Record<string, string>,
  main = MAIN_SCRIPT,
): AppLaunch {
  const inherited: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !NOT_INHERITED.includes(name)) inherited[name] = value
  }
  return {
    args: [...switches, main],
    env: {
      ...inherited,
      XDG_CONFIG_HOME: join(dir, 'config'),
      PINHOLE_POLICY_FILE: join(dir, 'no-policy.json'),
      PINHOLE_REGIONS: '',
      PINHOLE_LOG_LEVEL: 'warn',
      PINHOLE_LOG_DIR: join(dir, 'logs', env['PINHOLE_PROFILE'] ?? 'default'),
      ...env,
    },
  }
}

/** One participant's instance: profile `e2e-<name>`, fake devices from `media`, the stack found in `runDir`. */
export function instanceLaunch(dir: string, name: string, media: FakeMedia, runDir: string): AppLaunch {
  return appLaunch(dir, [...fakeMediaSwitches(media), ...CALL_SWITCHES], {
    PINHOLE_PROFILE: `e2e-${name}`,
    PINHOLE_RUN_DIR: runDir,
  })
}

export function launchApp(executablePath: string, launch: AppLaunch): Promise<ElectronApplication> {
  return electron.launch({ executablePath, args: launch.args, env: launch.env })
}

/** The part of Playwright's ElectronApplication that interceptInvokes uses (a fake in the unit test). */
export type BrowserWindowOf = Pick<ElectronApplication, 'browserWindow'>

/**
 * Notes the page's invokes of `channels` in its main process: a handler on the window's `webContents.ipc`
 * runs before `ipcMain`'s (Electron's documented order), so while it is in place those invokes reach no
 * core — it answers them with an error itself. For invokes that must not happen (the 414 scenario).
 * The functions passed to `evaluate` run in Electron's main process: serialized, no closures.
 */
export async function interceptInvokes(
  app: BrowserWindowOf,
  page: Page,
  channels: readonly InvokeChannel[],
): Promise<() => Promise<string[]>> {
  const window = await app.browserWindow(page)
  const wires = channels.map(invokeWireChannel)
  const reply: IpcReply<never> = {
    ok: false,
    error: { code: ErrorCode.Internal, message: 'refused by the e2e test: this invoke must not be sent' },
  }
  await window.evaluate(
    (w: BrowserWindow, arg: { wires: string[]; reply: unknown }) => {
      const global = globalThis as Record<string, unknown>
      const all = (global['__pinholeE2eNoted'] ??= {}) as Record<number, string[]>
      const noted: string[] = (all[w.webContents.id] = [])
      for (const wire of arg.wires) {
        w.webContents.ipc.handle(wire, () => {
          noted.push(wire)
          return arg.reply
        })
      }
    },
    { wires, reply },
  )
  return async () => {
    const noted = await window.evaluate((w: BrowserWindow, wires: string[]) => {
      for (const wire of wires) w.webContents.ipc.removeHandler(wire)
      const all = (globalThis as Record<string, unknown>)['__pinholeE2eNoted'] as Record<number, string[]>
      return all[w.webContents.id] ?? []
    }, wires)
    await window.dispose()
    return noted
  }
}

/** One person in the call: a started Electron instance (instanceLaunch), its first window once ready. */
export async function openInstance(
  executablePath: string,
  name: string,
  launch: AppLaunch,
): Promise<Participant> {
  const app = await launchApp(executablePath, launch)
  try {
    const page = await app.firstWindow()
    page.on('pageerror', (error) => console.error(`${name} page error:`, error))
    await waitForApp(page)
    return {
      name,
      page,
      watchInvokes: (channels) => interceptInvokes(app, page, channels),
      close: () => app.close(),
    }
  } catch (error) {
    await app.close()
    throw error
  }
}
