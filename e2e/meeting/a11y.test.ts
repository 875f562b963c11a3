import { join as joinPath } from 'node:path'
import AxeBuilder from '@axe-core/playwright'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { screenshot } from '../browser/artifacts'
import { join, leave, waitForState, type BrowserParticipant } from '../browser/participant'
import { sidewaysOverflow } from '../browser/pageProbe'
import { openTwoPeople, type TwoPeople } from './twoPeople'

/**
 * Issue 13, acceptance 5 (axe) and item 6's layout: the join screen, the network check, the diagnostics
 * export, the call view, and the call with a screen share (the sharer's view and the viewer's stage), each in the light and the dark colour scheme, checked by axe-core in Debian
 * Chromium through the browser host — no serious or critical violation — and photographed at 800x600 and
 * 1920x1080 (test-results/meeting/a11y/) with nothing wider than the window.
 */

const SHOTS = joinPath(process.cwd(), 'test-results', 'meeting', 'a11y')
const SCHEMES = ['light', 'dark'] as const
const SIZES = [
  { width: 800, height: 600 },
  { width: 1920, height: 1080 },
] as const

type Scheme = (typeof SCHEMES)[number]

/** axe's serious and critical findings, one line each (rule, impact, the first elements it names). */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze()
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      const where = v.nodes.map((n) => n.target.join(' ')).slice(0, 4)
      // axe's own words for the first element (for contrast: the two colours and the ratio it measured).
      const why = v.nodes[0]?.any[0]?.message ?? v.nodes[0]?.all[0]?.message ?? ''
      return `${v.id} (${v.impact}): ${where.join(', ')} — ${why}`
    })
}

/**
 * In each scheme: axe on the page as it is, and at each size a screenshot when `shot` names the state;
 * returns the findings as `<state>/<scheme>: <violation>` so one run reports every state at once.
 */
async function checkState(page: Page, state: string, shot: boolean): Promise<string[]> {
  const found: string[] = []
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme })
    // Every state is checked for overflow at 800x600; the photographed ones at both sizes.
    for (const size of shot ? SIZES : SIZES.slice(0, 1)) {
      await page.setViewportSize(size)
      const overflow = await sidewaysOverflow(page)
      if (overflow.px > 0)
        found.push(
          `${state}/${scheme} ${size.width}x${size.height}: ${overflow.px} px too wide (${overflow.culprits})`,
        )
      if (shot) await screenshot(page, `${state}-${scheme}-${size.width}x${size.height}`, SHOTS)
    }
    found.push(...(await seriousViolations(page)).map((v) => `${state}/${scheme}: ${v}`))
  }
  return found
}

async function schemeOf(page: Page): Promise<Scheme> {
  return page.evaluate<Scheme>("matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'")
}

describe('accessibility of the meeting app (axe-core in Chromium, light and dark)', () => {
  let people: TwoPeople
  let a: BrowserParticipant
  let b: BrowserParticipant

  beforeAll(async () => {
    people = await openTwoPeople('a11y')
    ;({ a, b } = people)
  }, 120_000)

  afterAll(async () => {
    await people?.close()
  })

  it('the dark scheme follows the OS and changes the page’s colours', async () => {
    const background = (): Promise<string> =>
      a.page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor')
    await a.page.emulateMedia({ colorScheme: 'light' })
    const light = await background()
    await a.page.emulateMedia({ colorScheme: 'dark' })
    expect(await schemeOf(a.page)).toBe('dark')
    const dark = await background()
    expect(dark).not.toBe(light)
    // Dark means dark: the page's background is below a quarter of full brightness.
    const [r, g, bl] = dark.match(/\d+/g)!.map(Number)
    expect(Math.max(r!, g!, bl!)).toBeLessThan(64)
  })

  it('join screen, call view, call with a share, network check and diagnostics: no serious or critical axe violation, nothing cut off', async () => {
    const { page } = a
    // Soft: every state's findings are reported, even when a later step fails.
    expect.soft(await checkState(page, 'join', true), 'join screen').toEqual([])

    // One join at a time: on a loaded machine two at once can run out the connect timeout.
    for (const [p, uid] of [
      [b, 4102],
      [a, 4101],
    ] as const) {
      await join(p, 'a11y-call', uid)
      await waitForState(p, 3).catch(async (error: unknown) => {
        // What the page says (a notice, the state's reason) names the cause of a join that did not finish.
        const said = await p.page
          .locator('[data-testid="notice"], [data-testid="connection-panel"]')
          .allInnerTexts()
        throw new Error(`${p.name} did not connect: ${said.join(' | ')}`, { cause: error })
      })
    }
    await page
      .locator('[data-testid="remote-tile"][data-uid="4102"]')
      .waitFor({ state: 'attached', timeout: 30_000 })
    expect.soft(await checkState(page, 'call', true), 'call view').toEqual([])

    // A shares a screen (Chromium's fake display capture): A's own view while sharing, and B's stage with it.
    await page.getByTestId('toggle-share').click()
    await b.page
      .locator('[data-testid="screen-stage"] [data-testid="screen-canvas"][data-uid="4101"]')
      .waitFor({ state: 'attached', timeout: 20_000 })
    expect.soft(await checkState(page, 'call-sharing', false), 'call view, sharing').toEqual([])
    expect.soft(await checkState(b.page, 'call-share-received', true), 'call view with a share').toEqual([])
    await leave(b)
    await leave(a)

    // After the call, as IT would ask for it: the network check and the diagnostics export.
    await page.getByTestId('view-network').click()
    await page.getByTestId('network-run').click()
    await page.getByTestId('network-summary').waitFor({ timeout: 30_000 })
    expect.soft(await checkState(page, 'network-check', true), 'network check').toEqual([])

    await page.getByTestId('export-diagnostics').click()
    await page.getByTestId('export-path').waitFor({ timeout: 15_000 })
    expect(await checkState(page, 'diagnostics', false), 'diagnostics export').toEqual([])
  }, 400_000)
})
