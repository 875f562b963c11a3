import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { screenshot } from '../browser/artifacts'
import { requireBrowserTools } from '../browser/browsers'
import { buildRenderer } from '../browser/buildRenderer'
import { makeFakeMedia } from '../browser/fakeMedia'
import {
  chooseProxyMode,
  closeParticipant,
  join,
  leave,
  openParticipant,
  receiveFrom,
  waitForState,
  type Participant,
} from '../browser/participant'
import { UID_A, UID_B } from '../browser/scenarios'
import { waitFor } from '../support/tools'

/**
 * Issue 12 item 5, what the user sees: two Debian Chromiums call each other through the browser host (its
 * embedded proxy and conference server, UDP proxy mode), each encoding its fake 640x360 camera. Each one's
 * statistics panel must show, from the engine's real `remoteVideoStats` and `networkQuality`, a row for the
 * other user with their frame rate, the size of their key frames (640x360, or 320x180 when the sender's
 * estimate is low), and a quality, and the send side's rows. The row names the user as their tile does: by
 * the display name they joined with (issue 13), not by uid.
 * Screenshots go to test-results/browser/stats-panel-*.png.
 */

interface Row {
  fps: number
  width: string
  height: string
  layer: string
  quality: string
  name: string
  text: string
}

const NAMES: Record<number, string> = { [UID_A]: '王芳', [UID_B]: 'Maria Lopez' }

async function remoteRow(page: Page, uid: number): Promise<Row | null> {
  const row = page.locator(`[data-testid="remote-video-row"][data-uid="${uid}"]`)
  if ((await row.count()) === 0) return null
  const attribute = async (name: string): Promise<string> => (await row.getAttribute(name)) ?? ''
  return {
    fps: Number(await attribute('data-fps')),
    width: await attribute('data-width'),
    height: await attribute('data-height'),
    layer: await attribute('data-layer'),
    quality: await attribute('data-quality'),
    name: (await row.locator('th').innerText()).trim(),
    text: await row.innerText(),
  }
}

describe('statistics panel in a real call (Chromium through the browser host)', () => {
  let dir: string
  let host: WebHost
  let a: Participant
  let b: Participant

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(joinPath(tmpdir(), 'pinhole-stats-panel-'))
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

  it("each panel shows the other user's received layer, fps, key-frame size and quality, and what it sends", async () => {
    await Promise.all([chooseProxyMode(a, 1), chooseProxyMode(b, 1)])
    await a.page.getByTestId('join-displayName').fill(NAMES[UID_A]!)
    await b.page.getByTestId('join-displayName').fill(NAMES[UID_B]!)
    await Promise.all([join(a, 'pinhole-stats', UID_A), join(b, 'pinhole-stats', UID_B)])
    await Promise.all([waitForState(a, 3), waitForState(b, 3)])
    await Promise.all([receiveFrom(a, UID_B), receiveFrom(b, UID_A)])

    for (const [p, other] of [
      [a, UID_B],
      [b, UID_A],
    ] as const) {
      let row: Row | null = null
      let last = ''
      // A report every 2 s; the first ones can straddle the first key frame.
      await waitFor(
        async () => {
          row = await remoteRow(p.page, other)
          if (row && row.text !== last) console.log(`${p.name}: ${(last = row.text).replace(/\s+/g, ' ')}`)
          const quality = Number(row?.quality || 0)
          return row !== null && row.fps >= 10 && row.width !== '' && quality >= 1 && quality <= 3
        },
        `${p.name}: a remote video row for ${other}`,
        20_000,
      )
      const seen = row! as Row
      console.log(`${p.name} sees ${other}: ${seen.text.replace(/\s+/g, ' ')}`)
      // 640x360, or 320x180 while the sender's estimate is low (the encoder's ladder, docs/media.md).
      expect([`${seen.width}x${seen.height}`]).toEqual([expect.stringMatching(/^(640x360|320x180)$/)])
      expect(Number(seen.quality)).toBeGreaterThanOrEqual(1)
      expect(Number(seen.quality)).toBeLessThanOrEqual(3)
      // The layer column says what arrives: a TID when the sender encodes temporal layers, else one layer.
      expect(seen.text).toMatch(seen.layer === '' ? /single layer/ : /rate/)
      expect(seen.text).toContain(`${seen.width}×${seen.height}`)
      // Named as on the tile, not "uid 5201".
      expect(seen.name).toBe(NAMES[other])

      const send = await p.page.getByTestId('stat-send-video').innerText()
      const bandwidth = await p.page.getByTestId('stat-bandwidth').innerText()
      console.log(`${p.name} sends: ${send}; estimated bandwidth ${bandwidth}`)
      expect(send).toMatch(/\d+ fps/)
      await screenshot(p.page, `stats-panel-${p.name}`)
    }

    // B leaves: A's row for B goes with B's tile.
    await leave(b)
    await a.page
      .locator(`[data-testid="remote-video-row"][data-uid="${UID_B}"]`)
      .waitFor({ state: 'detached' })
    await leave(a)
  }, 120_000)
})
