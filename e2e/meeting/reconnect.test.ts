import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publishDiscovery } from '../../src/app/stack/discovery'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { screenshot } from '../browser/artifacts'
import { requireBrowserTools } from '../browser/browsers'
import { buildRenderer } from '../browser/buildRenderer'
import { makeFakeMedia } from '../browser/fakeMedia'
import { dominantColor, sampleCanvas, tileFigures, timelineEntries } from '../browser/pageProbe'
import {
  chooseProxyMode,
  closeParticipant,
  openParticipant,
  waitForState,
  type BrowserParticipant,
} from '../browser/participant'
import { startCallStack, type CallStack } from '../support/callStack'
import { TEST_APP } from '../support/proxyConfig'
import { joinConnected } from './publishers'
import { waitFor } from '../support/tools'

/**
 * Issue 13, acceptance 6: two Chromium participants in a call through the cloud proxy (UDP); the proxy's
 * connection to the conference server is cut for 3 s (e2e/support/callStack.ts's relay) and the server
 * lets a participant go after 300 ms without signaling, so each side's media stops too and the engine
 * rejoins in full. Each page shows the banner within 1 s of the cut, keeps the other's tile with its last
 * frame under a "reconnecting" overlay, and once Connected again the video advances and the banner goes.
 * The browser host finds the test's stack as it finds another instance's embedded stack (discovery file).
 */

const CHANNEL = 'reconnect-call'
const UID_A = 6101
const UID_B = 6102
const DOWN_MS = 3000
const SHOTS = joinPath(process.cwd(), 'test-results', 'meeting')

describe('reconnecting as a person sees it (Chromium through the browser host)', () => {
  let dir: string
  let stack: CallStack
  let host: WebHost
  let a: BrowserParticipant
  let b: BrowserParticipant

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(joinPath(tmpdir(), 'pinhole-reconnect-'))
    const rendererDir = joinPath(dir, 'renderer')
    const [red, blue] = await Promise.all([
      makeFakeMedia(dir, 'red', 440),
      makeFakeMedia(dir, 'blue', 660),
      buildRenderer(rendererDir),
    ])
    stack = await startCallStack({ reconnectGraceMs: 300 }, 'local')
    const runDir = joinPath(dir, 'run')
    mkdirSync(runDir, { mode: 0o700 })
    publishDiscovery(runDir, {
      version: 1,
      pid: process.pid,
      nonce: randomBytes(16).toString('hex'),
      appKey: TEST_APP.appKey,
      secret: TEST_APP.secret,
      region: stack.region,
      sfuSignalUrl: stack.sfuUrl,
      startedAt: new Date().toISOString(),
    })
    host = await startWebHost({ dataDir: joinPath(dir, 'data'), rendererDir, runDir })
    a = await openParticipant('A', red, host.url)
    b = await openParticipant('B', blue, host.url)
  }, 120_000)

  afterAll(async () => {
    for (const p of [a, b]) await closeParticipant(p)
    await host?.close()
    await stack?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('the connection cut mid-call: banner within 1 s, tiles kept with their last frame and an overlay; video again and no banner once rejoined', async () => {
    for (const [p, uid] of [
      [a, UID_A],
      [b, UID_B],
    ] as const) {
      await chooseProxyMode(p, 1)
      await joinConnected(p, CHANNEL, uid)
    }
    const peers = [
      { p: a, other: UID_B, color: 'blue' },
      { p: b, other: UID_A, color: 'red' },
    ] as const
    for (const { p, other } of peers) {
      await waitFor(async () => (await tileFigures(p.page, other)).frames > 30, `${p.name}: frames`, 30_000)
    }

    // A loaded machine may have lost the media once already while joining: each loss is an attempt.
    const earlier = await Promise.all(
      peers.map(async ({ p }) => (await timelineEntries(p.page)).filter((e) => e.state === 4).length),
    )
    expect(stack.cutSignaling(DOWN_MS)).toBeGreaterThanOrEqual(2)
    // Within 1 s of the cut, on both pages.
    await Promise.all(peers.map(({ p }) => p.page.getByTestId('reconnect-banner').waitFor({ timeout: 1000 })))
    for (const [i, { p, other, color }] of peers.entries()) {
      await expect(p.page.getByTestId('reconnect-banner').innerText()).resolves.toBe(
        `Connection lost — reconnecting through the cloud proxy… (attempt ${earlier[i]! + 1})`,
      )
      const tile = p.page.locator(`[data-testid="remote-tile"][data-uid="${other}"]`)
      await expect(tile.getAttribute('data-reconnecting')).resolves.toBe('true')
      await expect(tile.getByTestId('tile-reconnecting').isVisible()).resolves.toBe(true)
      // The last frame stays on the canvas: the other's colour, not a cleared (black) tile.
      expect(dominantColor(await sampleCanvas(p.page, other))).toBe(color)
      // This user's own preview stays too.
      await expect(p.page.getByTestId('local-preview').isVisible()).resolves.toBe(true)
      await screenshot(p.page, `reconnecting-${p.name}`, SHOTS)
    }

    await Promise.all(
      [a, b].map((p) =>
        waitForState(p, 3, 30_000).catch(async (error: unknown) => {
          await screenshot(p.page, `not-reconnected-${p.name}`, SHOTS)
          console.error(`${p.name} timeline`, JSON.stringify(await timelineEntries(p.page)))
          throw error
        }),
      ),
    )
    for (const { p, other, color } of peers) {
      await expect(p.page.getByTestId('reconnect-banner').count()).resolves.toBe(0)
      const tile = p.page.locator(`[data-testid="remote-tile"][data-uid="${other}"]`)
      await expect(tile.getAttribute('data-reconnecting')).resolves.toBe('false')
      const before = (await tileFigures(p.page, other)).frames
      await waitFor(
        async () => (await tileFigures(p.page, other)).frames > before + 10,
        `${p.name}: video again after the rejoin`,
        20_000,
      )
      expect(dominantColor(await sampleCanvas(p.page, other))).toBe(color)
      await screenshot(p.page, `reconnected-${p.name}`, SHOTS)
    }
  }, 120_000)
})
