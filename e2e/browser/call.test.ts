import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { afterAll, beforeAll, describe } from 'vitest'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { requireBrowserTools } from './browsers'
import { buildRenderer } from './buildRenderer'
import { makeFakeMedia } from './fakeMedia'
import { closeParticipant, openParticipant, type Participant } from './participant'
import { callScenarios } from './scenarios'

/**
 * Issue 5, acceptance 2: two Debian Chromium instances, each with its own fake camera (red / blue, a white
 * square moving) and microphone (a tone), open the built renderer through the browser host (src/webhost)
 * on its embedded stack, and call each other through the cloud proxy in UDP mode, then TCP (TLS 443).
 * The scenarios themselves (scenarios.ts) are the same as the Electron app's (e2e/app/electron.test.ts).
 */

describe('two participants through the browser host (Chromium)', () => {
  let dir: string
  let host: WebHost
  let a: Participant
  let b: Participant

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(joinPath(tmpdir(), 'pinhole-browser-'))
    const [redMedia, blueMedia] = await Promise.all([
      makeFakeMedia(dir, 'red', 440),
      makeFakeMedia(dir, 'blue', 660),
    ])
    const rendererDir = joinPath(dir, 'renderer')
    await buildRenderer(rendererDir)
    host = await startWebHost({ dataDir: joinPath(dir, 'data'), rendererDir })
    a = await openParticipant('A', redMedia, host.url)
    b = await openParticipant('B', blueMedia, host.url)
  }, 120_000)

  afterAll(async () => {
    await closeParticipant(a)
    await closeParticipant(b)
    await host?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  callScenarios(() => ({ a, b }))
})
