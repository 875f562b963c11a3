/**
 * Issue 5 acceptance 3: the built app under Playwright's `_electron`, wherever an Electron binary is
 * installed (it cannot be downloaded on our build machines: then this prints why and skips).
 * - Smoke: two windows of one instance (PINHOLE_WINDOWS=2) each get `window.pinhole` from the sandboxed
 *   preload, see the embedded stack, and receive a media port.
 * - The call scenarios of e2e/browser/call.test.ts (the same code: e2e/browser/scenarios.ts) between two
 *   Electron *instances* — Chromium's fake camera is per process — each with its own profile
 *   (PINHOLE_PROFILE), its own fake camera and microphone (Chromium switches on Electron's command line)
 *   and one embedded stack, found by the second instance through the shared PINHOLE_RUN_DIR.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DISCOVERY_FILE } from '../../src/app/stack/discovery'
import type { AppSettings, IpcReply, PinholeApi } from '../../src/shared/ipc'
import { makeFakeMedia } from '../browser/fakeMedia'
import { closeParticipant, type Participant } from '../browser/participant'
import { callScenarios } from '../browser/scenarios'
import { requireTool } from '../support/tools'
import {
  appLaunch,
  electronBinary,
  instanceLaunch,
  launchApp,
  MAIN_SCRIPT,
  noDisplay,
  openInstance,
} from './electronApp'

const found = electronBinary()
const skip =
  'skip' in found
    ? found.skip
    : (noDisplay() ?? (existsSync(MAIN_SCRIPT) ? undefined : 'no build: run npm run build'))
if (skip !== undefined) console.info(`e2e/app/electron.test.ts skipped: ${skip}`)
const binary = 'path' in found ? found.path : ''

/** Screenshots of the Electron windows (the browser tests keep theirs in test-results/browser). */
const ARTIFACT_DIR = join(process.cwd(), 'test-results', 'electron')

const dir = mkdtempSync(join(tmpdir(), 'pinhole-electron-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface PageGlobals {
  pinhole: PinholeApi
  port?: unknown
  addEventListener(
    type: 'message',
    listener: (event: { source: unknown; data: unknown; ports: unknown[] }) => void,
  ): void
}

describe.skipIf(skip !== undefined)(`the Electron app (${skip ?? 'binary found'})`, () => {
  it('two windows: window.pinhole from the preload, the embedded stack, a media port each', async () => {
    const app = await launchApp(
      binary,
      appLaunch(dir, [], { PINHOLE_PROFILE: 'e2e', PINHOLE_WINDOWS: '2', PINHOLE_RUN_DIR: join(dir, 'run') }),
    )
    try {
      await expect.poll(() => app.windows().length, { timeout: 30_000 }).toBe(2)
      const uids = new Set<number>()
      for (const page of app.windows()) {
        await page.waitForFunction(() => 'pinhole' in globalThis)
        const reply = (await page.evaluate(() =>
          (globalThis as unknown as PageGlobals).pinhole.getSettings(),
        )) as IpcReply<AppSettings>
        expect(reply).toMatchObject({ ok: true, value: { embedded: true, regions: [{ id: 'local' }] } })
        if (reply.ok) uids.add(reply.value.uid)
        // No Node and no ipcRenderer in the page: only the bridge.
        expect(await page.evaluate(() => typeof (globalThis as Record<string, unknown>)['require'])).toBe(
          'undefined',
        )
        await page.evaluate(() => {
          const g = globalThis as unknown as PageGlobals
          g.addEventListener('message', (event) => {
            if (event.source === g && (event.data as { type?: string })?.type === 'pinhole:media-port') {
              g.port = event.ports[0]
            }
          })
        })
        expect(
          await page.evaluate(() => (globalThis as unknown as PageGlobals).pinhole.connectMedia()),
        ).toEqual({
          ok: true,
          value: 0,
        })
        await page.waitForFunction(() => (globalThis as unknown as PageGlobals).port !== undefined)
      }
      expect(uids.size).toBe(2) // each window its own settings, so its own uid
    } finally {
      await app.close()
    }
  })

  describe('two instances, one embedded stack: the call scenarios', () => {
    const runDir = join(dir, 'run-call')
    let a: Participant | undefined
    let b: Participant | undefined

    beforeAll(async () => {
      requireTool('ffmpeg') // a missing tool fails with its install line, never a skip
      const [redMedia, blueMedia] = await Promise.all([
        makeFakeMedia(dir, 'red', 440),
        makeFakeMedia(dir, 'blue', 660),
      ])
      a = await openInstance(binary, 'A', instanceLaunch(dir, 'A', redMedia, runDir))
      // A published its stack before B starts, so B joins that one rather than racing to start its own.
      await expect.poll(() => existsSync(join(runDir, DISCOVERY_FILE)), { timeout: 30_000 }).toBe(true)
      b = await openInstance(binary, 'B', instanceLaunch(dir, 'B', blueMedia, runDir))
    }, 120_000)

    afterAll(async () => {
      // B uses A's stack (it goes with A's process): B first, then A.
      await closeParticipant(b)
      await closeParticipant(a)
    })

    it('each instance has its own profile and sees the embedded stack', async () => {
      const settings = await Promise.all(
        [a!, b!].map(async (p) => {
          const reply = (await p.page.evaluate(() =>
            (globalThis as unknown as PageGlobals).pinhole.getSettings(),
          )) as IpcReply<AppSettings>
          expect(reply).toMatchObject({ ok: true, value: { embedded: true, regions: [{ id: 'local' }] } })
          return reply.ok ? reply.value : undefined
        }),
      )
      // Own settings folder (own profile) → own random uid; the same region → the same stack's proxy.
      expect(settings[0]!.uid).not.toBe(settings[1]!.uid)
      expect(settings[1]!.regions).toEqual(settings[0]!.regions)
    })

    callScenarios(() => ({ a: a!, b: b! }), { artifactDir: ARTIFACT_DIR })
  })
})
