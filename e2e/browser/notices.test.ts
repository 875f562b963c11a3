import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadPolicy } from '../../src/app/settings/policy'
import { ErrorCode } from '../../src/shared/errors'
import { CHANNEL_NAME_RULE } from '../../src/shared/joinRules'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { requireTool } from '../support/tools'
import { screenshot } from './artifacts'
import { requireBrowserTools, viewBrowserArgs } from './browsers'
import { buildRenderer } from './buildRenderer'
import { waitForApp, waitForState, type Participant } from './participant'

/**
 * Issue 10 items 10 and 11, as a person meets them in the real app (the browser host with its embedded
 * stack: the real proxy answers, the real conference server joins) at 800x600:
 * - a join with a garbage token reads once — one notice, the proxy's refusal and its detail — and the
 *   state line names that cause; a successful join then leaves no notice;
 * - the channel and uid fields say what is wrong as they are typed, in the user's words; "会议室" joins;
 * - a proxy mode the IT policy does not allow cannot be clicked, with the policy's reason shown.
 */

const VIEWPORT = { width: 800, height: 600 }

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: VIEWPORT })
  page.on('pageerror', (error) => console.error('page error:', error))
  await page.goto(url)
  await waitForApp(page)
  return page
}

const person = (page: Page): Participant => ({
  name: 'A',
  page,
  watchInvokes: () => Promise.reject(new Error('not used')),
  close: () => page.close(),
})

/** The join has fully settled (the form's button is back), so a late notice would be on screen. */
async function joinSettled(page: Page): Promise<void> {
  await page.locator('[data-testid="join-button"]:enabled', { hasText: /^Join$/ }).waitFor()
}

describe('notices and form messages in the browser host (Chromium, 800x600)', () => {
  let dir: string
  let rendererDir: string
  let browser: Browser

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(joinPath(tmpdir(), 'pinhole-notices-'))
    rendererDir = joinPath(dir, 'renderer')
    await buildRenderer(rendererDir)
    browser = await chromium.launch({
      executablePath: requireTool('chromium'),
      headless: true,
      args: viewBrowserArgs(),
    })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  describe('embedded stack', () => {
    let host: WebHost
    let page: Page

    beforeAll(async () => {
      host = await startWebHost({ dataDir: joinPath(dir, 'data'), rendererDir })
      page = await openPage(browser, host.url)
    }, 60_000)

    afterAll(async () => {
      await page?.close()
      await host?.close()
    })

    it('a garbage token, refused by the proxy or the server: one notice; a successful join then leaves none', async () => {
      await page.getByTestId('join-channel').fill('notice-room')
      await page.getByTestId('join-uid').fill('5001')
      // Refused by the proxy's session API (UDP proxy), then by the conference server itself (no proxy):
      // the same cause, the same one notice; the second failure replaces the first.
      for (const [mode, refusedBy] of [
        [1, '401 token_malformed'],
        [0, 'token_malformed: not a JWT'],
      ] as const) {
        await page.getByTestId(`proxy-mode-${mode}`).click()
        await page.getByTestId('join-token').fill('not-a-token')
        await page.getByTestId('join-button').click()
        await waitForState(person(page), 5)
        await joinSettled(page)

        const notices = page.getByTestId('notice')
        await expect(notices.count()).resolves.toBe(1)
        const notice = notices.first()
        await expect(notice.getAttribute('data-code')).resolves.toBe(
          String(ErrorCode.ProxySessionTokenInvalid),
        )
        const text = await notice.innerText()
        expect(text).toContain('The join token was refused')
        expect(text).toContain('Paste the whole token you were given')
        expect(text).toContain(refusedBy)
        expect(text).not.toMatch(
          /pinhole doctor|You can fix this here|Request parameter error|app developers/,
        )
        const reason = await page.getByTestId('connection-reason').innerText()
        expect(reason).toContain('The join token was refused')
        expect(reason).not.toMatch(/could not be reached/)
        // One notice stays a band above the call, not most of the window.
        const box = await page.getByTestId('notices').boundingBox()
        expect(box!.height).toBeLessThan(VIEWPORT.height / 4)
        await screenshot(page, `notices-garbage-token-mode${mode}-800x600`)
      }

      await page.getByTestId('join-token').fill('')
      await page.getByTestId('join-button').click()
      await waitForState(person(page), 3)
      await page.getByTestId('leave-button').waitFor()
      await expect(page.getByTestId('notice').count()).resolves.toBe(0)
      await screenshot(page, 'notices-after-success-800x600')
      await page.getByTestId('leave-button').click()
      await waitForState(person(page), 1)
      await expect(page.getByTestId('notice').count()).resolves.toBe(0)
    }, 90_000)

    it('the fields say what is wrong as typed; a 200-character name never reaches Join; 会议室 joins', async () => {
      await expect(page.getByTestId('join-channel-hint').innerText()).resolves.toContain(CHANNEL_NAME_RULE)
      await page.getByTestId('join-channel').fill('x'.repeat(200))
      await expect(page.getByTestId('join-channel-problem').innerText()).resolves.toBe(
        'The channel name has 200 characters; at most 64.',
      )
      await page.getByTestId('join-channel').fill('board room')
      await expect(page.getByTestId('join-channel-problem').innerText()).resolves.toBe(
        'a space cannot be in a channel name: use letters or digits of any script, or _ . ~ -.',
      )
      await page.getByTestId('join-uid').fill('9007199254740992')
      await expect(page.getByTestId('join-uid-problem').innerText()).resolves.toBe(
        'The uid can be at most 9007199254740991.',
      )
      await screenshot(page, 'form-live-problems-800x600')
      await page.getByTestId('join-button').click()
      await expect(page.getByTestId('connection-state').getAttribute('data-state')).resolves.toBe('1')
      await expect(page.getByTestId('notice').count()).resolves.toBe(0)

      await page.getByTestId('join-channel').fill('会议室')
      await page.getByTestId('join-uid').fill('5002')
      await page.getByTestId('join-token').fill('')
      await expect(page.getByTestId('join-channel-problem').count()).resolves.toBe(0)
      await expect(page.getByTestId('join-uid-problem').count()).resolves.toBe(0)
      await page.getByTestId('join-button').click()
      await waitForState(person(page), 3)
      await screenshot(page, 'cjk-channel-joined-800x600')
      await page.getByTestId('leave-button').click()
      await waitForState(person(page), 1)
    }, 90_000)

    it('the Network check description names the ports it checks, not 3478/7070/443', async () => {
      const { udp, tcp } = host.localStack!.region.ports
      await page.getByTestId('view-network').click()
      const description = page.getByTestId('network-description')
      const [low, high] = [...udp].sort((a, b) => a - b)
      const expected = `UDP ${low} and ${high} (STUN), TLS ${tcp} with the region's certificate`
      await expect(description.innerText()).resolves.toContain(expected)
      await page.getByTestId('network-run').click()
      await page.getByTestId('network-summary').waitFor({ timeout: 30_000 })
      await expect(description.innerText()).resolves.toContain(expected)
      await expect(page.getByTestId('network-target').first().innerText()).resolves.toBe(
        `127.0.0.1:${udp[0]}`,
      )
      await screenshot(page, 'network-check-ports-800x600')
      await page.getByTestId('view-call').click()
    }, 60_000)
  })

  describe('an IT policy that allows only the UDP and TCP proxy', () => {
    let host: WebHost
    let page: Page

    beforeAll(async () => {
      const policyFile = joinPath(dir, 'policy.json')
      writeFileSync(policyFile, JSON.stringify({ proxyMode: { allowed: [1, 2], default: 2 } }))
      const policy = loadPolicy({ path: policyFile })
      expect(policy.status).toBe('valid')
      host = await startWebHost({ dataDir: joinPath(dir, 'policy-data'), rendererDir, policy })
      page = await openPage(browser, host.url)
    }, 60_000)

    afterAll(async () => {
      await page?.close()
      await host?.close()
    })

    it('the other modes cannot be clicked, and the policy’s reason is shown', async () => {
      const reason = 'Your IT policy allows only these proxy modes: UDP proxy, TCP/TLS 443 proxy.'
      await expect(page.getByTestId('proxy-restriction').innerText()).resolves.toBe(reason)
      for (const [mode, disabled] of [
        [0, true],
        [1, false],
        [2, false],
        [3, true],
      ] as const) {
        const button = page.getByTestId(`proxy-mode-${mode}`)
        await expect(button.isDisabled(), `mode ${mode}`).resolves.toBe(disabled)
        if (disabled) await expect(button.getAttribute('title')).resolves.toContain(reason)
      }
      await page.getByTestId('proxy-mode-1').click()
      await page.locator('[data-testid="proxy-mode-1"][aria-checked="true"]').waitFor()
      await expect(page.getByTestId('notice').count()).resolves.toBe(0)
      await screenshot(page, 'policy-allowed-modes-800x600')
    }, 30_000)
  })
})
