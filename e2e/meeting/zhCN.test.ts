import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDoctor } from '../../src/engine'
import { loadCatalogues } from '../../src/renderer/i18n/catalogues'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { requireTool } from '../support/tools'
import { screenshot } from '../browser/artifacts'
import { participantArgs, requireBrowserTools } from '../browser/browsers'
import { buildRenderer } from '../browser/buildRenderer'
import { makeFakeMedia } from '../browser/fakeMedia'
import {
  closeParticipant,
  join,
  openParticipant,
  waitForApp,
  waitForState,
  type BrowserParticipant,
  type Participant,
} from '../browser/participant'

/**
 * Issue 13, acceptance 4: the whole app in Debian Chromium started with `--lang=zh-CN`, through the browser
 * host — the join screen, the call view (with a remote participant and the statistics), the network check
 * with a firewall rule, the diagnostics export, a 414 — shows no English UI string: the rendered text and
 * the labels a screen reader reads are scanned against every English catalogue value. The language switch
 * goes to English and back without a reload. Screenshots at 800x600 in test-results/meeting/zh-CN/.
 */

const SHOTS = joinPath(process.cwd(), 'test-results', 'meeting', 'zh-CN')

/** Latin words a Chinese UI keeps (names, protocols, units), as in src/renderer/i18n/catalogue.test.ts. */
const KEPT = new Set(
  (
    'Pinhole English UDP TCP TLS STUN TURN HTTP HTTPS CONNECT DNS API ICMP NFC IT ID CA App Key Token uid ' +
    'kbit Mbit s fps ms VP8 URL'
  ).split(' '),
)

/**
 * The English catalogue's words to look for: each value's text between its `{{values}}` and `<tags>`,
 * kept when it has a word a Chinese UI would translate, and not when the Chinese value is the same.
 */
function englishFragments(): string[] {
  const catalogues = loadCatalogues()
  const out = new Set<string>()
  const walk = (en: unknown, zh: unknown): void => {
    if (typeof en === 'string') {
      if (en === zh) return
      for (const part of en.split(/\{\{[^}]*\}\}|<\/?\w+\s*\/?>/)) {
        const words = part.match(/[A-Za-z]+/g) ?? []
        // A lone short word between two values ("{{via}} to {{host}}") says nothing about the language.
        if (words.some((word) => !KEPT.has(word) && word.length > 2)) out.add(part.trim())
      }
    } else if (typeof en === 'object' && en !== null) {
      for (const [key, inner] of Object.entries(en)) walk(inner, (zh as Record<string, unknown>)?.[key])
    }
  }
  for (const [namespace, catalogue] of Object.entries(catalogues.en))
    walk(catalogue, catalogues['zh-CN'][namespace])
  return [...out].filter((fragment) => fragment !== '')
}

/**
 * What a person reads or hears on the page: its text and the labels (aria-label, title, placeholder, alt)
 * — not the engine's own technical words (`lang="en"`, the NERTC identifiers in `<code>`).
 */
function pageWords(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const root = document.body.cloneNode(true)
    root.querySelectorAll('[lang="en"], code, script, style').forEach((el) => el.remove())
    const labels = [...document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')]
      .filter((el) => !el.closest('[lang="en"]'))
      .flatMap((el) => ['aria-label', 'title', 'placeholder', 'alt'].map((a) => el.getAttribute(a) ?? ''))
    document.body.appendChild(root)
    root.style.position = 'absolute'
    const text = root.innerText
    root.remove()
    return [text, ...labels].join('\\n')
  })()`)
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The English fragments found in the page's words (a whole-word match: "Join" is not in "joinChannel"). */
function englishIn(words: string, fragments: readonly string[]): string[] {
  return fragments.filter((fragment) => {
    const start = /^\w/.test(fragment) ? '\\b' : ''
    const end = /\w$/.test(fragment) ? '\\b' : ''
    return new RegExp(`${start}${escape(fragment)}${end}`).test(words)
  })
}

describe('the app in Simplified Chinese (Chromium --lang=zh-CN, browser host)', () => {
  let dir: string
  let host: WebHost
  let silent: Socket
  let browser: Browser
  let zh: Participant
  let en: BrowserParticipant
  const fragments = englishFragments()

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(joinPath(tmpdir(), 'pinhole-zh-'))
    // A UDP port that takes packets and never answers: a firewall that drops them, on loopback.
    silent = createSocket('udp4')
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
    const silentPort = silent.address().port
    const [red, blue] = await Promise.all([makeFakeMedia(dir, 'red', 440), makeFakeMedia(dir, 'blue', 660)])
    const rendererDir = joinPath(dir, 'renderer')
    await buildRenderer(rendererDir)
    host = await startWebHost({
      dataDir: joinPath(dir, 'data'),
      rendererDir,
      networkCheck: {
        // The real doctor against the embedded stack, its first UDP port swapped for the silent one.
        doctor: (region, options) =>
          runDoctor(
            { ...region, ports: { ...region.ports, udp: [silentPort, region.ports.udp[1]] } },
            options,
          ),
        probe: { udpTimeoutMs: 1500 },
      },
    })
    browser = await chromium.launch({
      executablePath: requireTool('chromium'),
      headless: true,
      // --lang is the OS language of a desktop Chromium; headless takes navigator.languages from --accept-lang.
      args: [...participantArgs(red), '--lang=zh-CN', '--accept-lang=zh-CN'],
    })
    const page = await (await browser.newContext({ viewport: { width: 800, height: 600 } })).newPage()
    page.on('pageerror', (error) => console.error('zh page error:', error))
    await page.goto(host.url)
    await waitForApp(page)
    zh = { name: 'zh', page, watchInvokes: async () => async () => [], close: () => browser.close() }
    en = await openParticipant('en', blue, host.url)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await closeParticipant(en)
    await host?.close()
    silent?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('the OS language picks Chinese: <html lang>, the catalogue scan finds its own English (control)', async () => {
    const { page } = zh
    await expect(page.evaluate('navigator.languages[0]')).resolves.toMatch(/^zh/)
    await expect(page.evaluate('document.documentElement.lang')).resolves.toBe('zh-CN')
    // The same scan on the English participant's page finds English: it is not vacuous.
    expect(englishIn(await pageWords(en.page), fragments)).toEqual(
      expect.arrayContaining(['Join a channel', 'Network check']),
    )
    await expect(en.page.evaluate('document.documentElement.lang')).resolves.toBe('en')
  })

  it('join screen, 414s, call view, network check with its rule, diagnostics: no English UI string', async () => {
    const { page } = zh
    // Soft: every state's English is reported, even when a later step fails.
    const scan = async (state: string): Promise<void> => {
      expect.soft(englishIn(await pageWords(page), fragments), `English in ${state}`).toEqual([])
      await screenshot(page, state, SHOTS)
    }
    await scan('join')

    // uid 0 with a cloud proxy (the default mode is Auto): the 414 rule, under the field, in Chinese.
    await page.getByTestId('join-uid').fill('0')
    await expect(page.getByTestId('join-uid-problem').textContent()).resolves.toBe(
      '开启云代理时，uid 0 无法加入：请换一个非 0 的 uid，或将代理模式设为“不使用”。',
    )

    // One more Join, as a person would press it, when a loaded machine fails the first (30202 while
    // connecting was seen with eight helpers' tests on two cores); what the page said is kept if both fail.
    for (const [p, uid] of [
      [zh, 5101],
      [en, 5102],
    ] as const) {
      let said = ''
      for (let attempt = 1; attempt <= 2; attempt++) {
        await join(p, 'zh-call', uid)
        const connected = await waitForState(p, 3, 45_000).then(
          () => true,
          async () => {
            said = (
              await p.page.locator('[data-testid="notice"], [data-testid="connection-panel"]').allInnerTexts()
            ).join(' | ')
            await screenshot(p.page, `not-connected-${p.name}-${attempt}`, SHOTS)
            return false
          },
        )
        if (connected) break
        if (attempt === 2) throw new Error(`${p.name} did not connect: ${said}`)
        await p.page.getByTestId('join-button').and(p.page.locator(':enabled')).waitFor({ timeout: 15_000 })
      }
    }
    await page.locator('[data-testid="remote-tile"][data-uid="5102"]').waitFor({ timeout: 30_000 })
    await page.getByTestId('remote-video-row').first().waitFor({ timeout: 30_000 })
    // Connected, or Reconnecting when a loaded machine drops media for a moment: either way in Chinese.
    await expect(page.getByTestId('connection-state').textContent()).resolves.toMatch(/^(已连接|重连中)$/)
    await scan('call')

    await page.getByTestId('view-network').click()
    await page.getByTestId('network-run').click()
    await page.getByTestId('network-summary').waitFor({ timeout: 30_000 })
    const rule = `放行桌面电脑到 127.0.0.1 ${silent.address().port} 端口的 UDP`
    await expect(page.getByTestId('network-row-udp').getByTestId('network-rule').textContent()).resolves.toBe(
      rule,
    )
    await expect(page.getByTestId('network-actions').textContent()).resolves.toContain(
      `需添加的防火墙规则：${rule}`,
    )
    await expect(page.getByTestId('network-summary').textContent()).resolves.toMatch(
      /中有 1 个从本机无法连通/,
    )
    await scan('network-check')

    await page.getByTestId('export-diagnostics').click()
    await page.getByTestId('export-path').waitFor({ timeout: 15_000 })
    await expect(page.getByTestId('export-result').textContent()).resolves.toMatch(/^诊断信息已写入 /)
    await scan('diagnostics')

    await page.getByTestId('view-call').click()
    await page.getByTestId('leave-button').click()
    await waitForState(zh, 1)
    // A token longer than the contract allows: the host refuses the join with 414, the table's sentence.
    await page.getByTestId('join-token').fill('x'.repeat(5000))
    await page.getByTestId('join-button').click()
    const notice = page.locator('[data-testid="notice"][data-code="414"]')
    await expect(notice.textContent({ timeout: 15_000 })).resolves.toContain('请求参数错误：Token 不能为空')
    await expect(notice.textContent()).resolves.toContain('加入')
    await scan('error-414')
  }, 180_000)

  it('switches to English and back without a reload, and the host remembers the choice', async () => {
    const { page } = zh
    await page.evaluate('window.__sameDocument = true')
    await page.getByTestId('language-switch').selectOption('en')
    await page.getByText('Join a channel', { exact: true }).waitFor({ timeout: 10_000 })
    await expect(page.evaluate('document.documentElement.lang')).resolves.toBe('en')
    await expect(page.getByTestId('view-call').textContent()).resolves.toBe('Call')
    await screenshot(page, 'switched-to-english', SHOTS)
    // The choice is in the settings the host keeps (settings.json), so a new page starts in English.
    await expect(page.evaluate('window.pinhole.getSettings()')).resolves.toMatchObject({
      value: { language: 'en' },
    })

    await page.getByTestId('language-switch').selectOption('system')
    await page.getByText('加入频道', { exact: true }).waitFor({ timeout: 10_000 })
    await expect(page.evaluate('document.documentElement.lang')).resolves.toBe('zh-CN')
    await expect(page.getByTestId('view-call').textContent()).resolves.toBe('通话')
    await expect(page.evaluate('window.__sameDocument')).resolves.toBe(true)
    expect(englishIn(await pageWords(page), fragments)).toEqual([])
  })
})
