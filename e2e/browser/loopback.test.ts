import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, errorMessage } from '../../src/shared/errors'
import { waitFor } from '../support/tools'
import { screenshot } from './artifacts'
import { launchParticipant, requireBrowserTools } from './browsers'
import { buildRenderer } from './buildRenderer'
import { fakeBridge, LOOPBACK_UID } from './fakeBridge'
import { makeFakeMedia } from './fakeMedia'
import { dominantColor, sampleCanvas, tileFigures, timelineEntries } from './pageProbe'
import { serveDir } from './staticServer'

/**
 * The built renderer in Debian Chromium against an in-page stand-in host (fakeBridge.ts) that sends every
 * encoded frame back as a remote user's: the renderer's own behaviour (form rules, state display, media
 * path through WebCodecs and the AudioWorklet) without an engine. call.test.ts does the real two-party call.
 */

type FakeCall = [string, ...unknown[]]

describe('renderer against a loopback bridge (Chromium)', () => {
  let dir: string
  let site: Awaited<ReturnType<typeof serveDir>>
  let browser: Browser
  let page: Page

  const calls = (): Promise<FakeCall[]> => page.evaluate('window.__fake.calls') as Promise<FakeCall[]>
  const up = (): Promise<{ video: number; audio: number; keyFrames: number }> =>
    page.evaluate('({ ...window.__fake.up })') as Promise<{ video: number; audio: number; keyFrames: number }>

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(join(tmpdir(), 'pinhole-loopback-'))
    const media = await makeFakeMedia(dir, 'red', 440)
    await buildRenderer(join(dir, 'renderer'))
    site = await serveDir(join(dir, 'renderer'))
    browser = await launchParticipant(media)
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('pageerror', (error) => console.error('page error:', error))
    await page.addInitScript(fakeBridge())
    await page.goto(site.url)
    await page.getByTestId('region-local').getByText('reachable').waitFor()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await site?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('refuses uid 0 under a proxy in its own words and sends nothing', async () => {
    await page.getByTestId('join-channel').fill('loop')
    await page.getByTestId('join-uid').fill('0')
    await page.getByTestId('join-button').click()
    await expect(page.getByTestId('join-uid-problem').textContent()).resolves.toBe(
      'uid 0 cannot join while a cloud proxy is on: choose a uid other than 0, or set the proxy mode to None.',
    )
    await screenshot(page, 'loopback-uid0-refused')
    expect(await calls()).toEqual([])
    await expect(page.getByTestId('local-tile').count()).resolves.toBe(0)
  })

  it('joins: Connecting → Connected with reasons, dev token filled, own video and audio come back', async () => {
    await page.getByTestId('join-uid').fill('4242')
    await page.getByTestId('join-button').click()
    await page.getByTestId('connection-state').and(page.locator('[data-state="3"]')).waitFor()
    expect(await timelineEntries(page)).toEqual([
      { state: 2, reason: 5 },
      { state: 2, reason: 13 },
      { state: 3, reason: 6 },
    ])
    await expect(page.getByTestId('join-token').inputValue()).resolves.toBe('dev-loop-4242')
    await expect(page.getByTestId('proxy-transport').textContent()).resolves.toContain('UDP')
    await waitFor(async () => (await tileFigures(page, LOOPBACK_UID)).frames > 30, 'decoded frames', 15_000)
    await waitFor(async () => (await tileFigures(page, LOOPBACK_UID)).level > 0.01, 'audio level', 10_000)
    const first = await sampleCanvas(page, LOOPBACK_UID)
    await new Promise((r) => setTimeout(r, 300))
    const second = await sampleCanvas(page, LOOPBACK_UID)
    expect(dominantColor(first)).toBe('red')
    expect(first.width).toBe(640)
    expect(second.hash).not.toBe(first.hash)
    await page.getByTestId('stat-rtt').waitFor()
    await expect(page.getByTestId('local-tile').isVisible()).resolves.toBe(true)
    await expect(page.getByTestId('stage-empty').count()).resolves.toBe(0)
    await screenshot(page, 'loopback-in-call')
    const sent = await calls()
    expect(sent).toContainEqual(['enableLocalVideo', true])
    expect(sent).toContainEqual(['joinChannel', 'dev-loop-4242', 'loop', 4242])
  })

  it('shows "next join" when the proxy mode changes in a call', async () => {
    await page.getByTestId('proxy-mode-2').click()
    await page.getByTestId('proxy-next-join').waitFor()
    await screenshot(page, 'loopback-next-join')
  })

  it('camera off stops capture and tells the engine', async () => {
    await page.getByTestId('toggle-cam').click()
    await waitFor(
      async () => (await calls()).some((c) => c[0] === 'enableLocalVideo' && c[1] === false),
      'enableLocalVideo(false)',
    )
    const before = (await up()).video
    await new Promise((r) => setTimeout(r, 500))
    expect((await up()).video - before).toBeLessThanOrEqual(1)
    await expect(
      page.evaluate('document.querySelector("[data-testid=local-preview]").srcObject'),
    ).resolves.toBeNull()
    await page.getByTestId('toggle-cam').click()
    await waitFor(async () => (await up()).video > before + 10, 'video again after camera on', 10_000)
  })

  it('microphone off stops the audio frames and tells the engine', async () => {
    await page.getByTestId('toggle-mic').click()
    await waitFor(
      async () => (await calls()).some((c) => c[0] === 'enableLocalAudio' && c[1] === false),
      'enableLocalAudio(false)',
    )
    const before = (await up()).audio
    await new Promise((r) => setTimeout(r, 500))
    expect((await up()).audio - before).toBeLessThanOrEqual(2)
    await page.getByTestId('toggle-mic').click()
    await waitFor(async () => (await up()).audio > before + 10, 'audio again after microphone on', 10_000)
  })

  it('shows an engine error as the table sentence', async () => {
    await page.evaluate(
      `window.__fake.emit('error', { code: ${ErrorCode.ProxyUdpUnreachable}, message: 'x', detail: '127.0.0.1:3478' })`,
    )
    const notice = page.locator(`[data-testid="notice"][data-code="${ErrorCode.ProxyUdpUnreachable}"]`)
    await expect(notice.textContent()).resolves.toContain(errorMessage(ErrorCode.ProxyUdpUnreachable))
    await expect(notice.textContent()).resolves.toContain('Ask your IT department')
  })

  it('leave → Disconnected (leaveChannel), no remote tiles', async () => {
    await page.getByTestId('leave-button').click()
    await page.getByTestId('connection-state').and(page.locator('[data-state="1"]')).waitFor()
    await expect(page.getByTestId('connection-reason').getAttribute('data-reason')).resolves.toBe('1')
    await expect(page.getByTestId('remote-tile').count()).resolves.toBe(0)
    // No black "You" tile out of a call: the stage says where the camera is and what to do.
    await expect(page.getByTestId('local-tile').count()).resolves.toBe(0)
    await expect(page.getByTestId('stage-empty').textContent()).resolves.toContain('not in a call')
    await screenshot(page, 'loopback-left')
  })

  it('shows fields an IT policy locks as locked, with the policy notice', async () => {
    const locked = await browser.newPage()
    await locked.addInitScript(
      fakeBridge({
        locked: ['cloudProxy', 'region'],
        notes: [
          { kind: 'policyManaged', path: '/etc/pinhole/policy.json', locked: ['cloudProxy', 'region'] },
        ],
      }),
    )
    await locked.goto(site.url)
    await locked.getByTestId('proxy-locked').waitFor()
    await locked.getByTestId('region-locked').waitFor()
    for (const mode of [0, 1, 2, 3])
      await expect(locked.getByTestId(`proxy-mode-${mode}`).isDisabled()).resolves.toBe(true)
    await expect(locked.getByTestId('region-auto').locator('input').isDisabled()).resolves.toBe(true)
    await expect(locked.getByTestId('policy-notice').textContent()).resolves.toBe(
      'Settings managed by your IT policy (/etc/pinhole/policy.json). Locked: proxy mode, region.',
    )
    await screenshot(locked, 'loopback-locked')
    await locked.close()
  })
})
