import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../support/tools'
import { join, waitForState, type BrowserParticipant } from '../browser/participant'
import { openTwoPeople, type TwoPeople } from './twoPeople'

/**
 * Issue 13, acceptance 5 (keyboard): A uses only the keyboard (Tab, Shift+Tab, Enter, Space, typing and
 * the call's shortcuts) to join, mute, turn the camera off and on, share a screen and stop, and leave; B, in the same channel, is
 * the witness. Each step is checked twice: in A's visible state (the connection state, the toggles'
 * aria-pressed) and in the engine's events the hosts send the pages (B sees A's microphone stop, …).
 */

const CHANNEL = 'keyboard-call'
const UID_A = 4201
const UID_B = 4202

interface Focused {
  testId: string | null
  /** The computed outline, to prove the focus ring is drawn. */
  outline: string
}

function focused(page: Page): Promise<Focused> {
  return page.evaluate<Focused>(`(() => {
    const el = document.activeElement
    const style = el ? getComputedStyle(el) : null
    return {
      testId: el ? el.getAttribute('data-testid') : null,
      outline: style ? style.outlineStyle + ' ' + style.outlineWidth : '',
    }
  })()`)
}

/**
 * Presses Tab (Shift+Tab with `back`) until the control `testId` has the focus; returns the test ids of the
 * controls passed on the way, each checked for a visible focus ring as it was reached.
 */
async function tabTo(page: Page, testId: string, back = false): Promise<string[]> {
  const passed: string[] = []
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab')
    const now = await focused(page)
    if (now.testId !== null) {
      // The app's :focus-visible ring: 3 px solid (Chromium's own is a 1 px 'auto' ring).
      expect(now.outline, `focus ring on ${now.testId}`).toBe('solid 3px')
      passed.push(now.testId)
    }
    if (now.testId === testId) return passed
  }
  throw new Error(`${testId} was not reached by ${back ? 'Shift+Tab' : 'Tab'}; passed ${passed.join(', ')}`)
}

/**
 * `expected` appear in `passed` in this order (other controls — pickers, a language switch — may sit
 * between them): a sensible tab order, top to bottom.
 */
function expectInOrder(passed: string[], expected: string[]): void {
  const positions = expected.map((id) => passed.indexOf(id))
  expect(
    positions.every((p) => p >= 0),
    `${expected.join(', ')} in ${passed.join(', ')}`,
  ).toBe(true)
  expect(
    [...positions].sort((x, y) => x - y),
    `order of ${passed.join(', ')}`,
  ).toEqual(positions)
}

function pressed(page: Page, testId: string): Promise<string | null> {
  return page.getByTestId(testId).getAttribute('aria-pressed')
}

/** Waits for B's engine to report `name` for A's uid (userJoined, userAudioStop, …). */
function witness(b: BrowserParticipant, name: string, from: number): Promise<void> {
  return waitFor(
    async () => b.engineEvents.slice(from).some((e) => e.name === name && e.args[0] === UID_A),
    `B's engine: ${name} for uid ${UID_A}`,
    15_000,
  )
}

describe('keyboard only: join, mute, camera, share, leave (Chromium through the browser host)', () => {
  let people: TwoPeople
  let a: BrowserParticipant
  let b: BrowserParticipant

  beforeAll(async () => {
    people = await openTwoPeople('keyboard')
    ;({ a, b } = people)
    await join(b, CHANNEL, UID_B)
    await waitForState(b, 3)
  }, 120_000)

  afterAll(async () => {
    await people?.close()
  })

  it('joins, mutes, turns the camera off and on, shares and stops, and leaves with the keyboard alone', async () => {
    const { page } = a
    await page.bringToFront()

    // Join: the tabs, then the form top to bottom; typing Ctrl+D in a field edits, it does not mute.
    expectInOrder(await tabTo(page, 'join-channel'), ['view-call', 'view-network', 'join-channel'])
    await page.keyboard.press('Control+A')
    await page.keyboard.type(CHANNEL)
    const invokes = await a.watchInvokes(['enableLocalAudio', 'enableLocalVideo'])
    await page.keyboard.press('Control+D')
    await page.keyboard.press('Control+E')
    expect(await invokes()).toEqual([])
    expect(await pressed(page, 'toggle-mic')).toBe('true')
    await page.keyboard.press('Tab')
    expect((await focused(page)).testId).toBe('join-uid')
    await page.keyboard.press('Control+A')
    await page.keyboard.type(String(UID_A))
    // Back and forth: Shift+Tab returns to the channel, Tab to the uid and on to Join.
    expectInOrder(await tabTo(page, 'join-channel', true), ['join-channel'])
    expectInOrder(await tabTo(page, 'join-button'), ['join-uid', 'join-token', 'join-button'])
    let mark = b.engineEvents.length
    await page.keyboard.press('Enter')
    await waitForState(a, 3)
    await witness(b, 'userJoined', mark)
    expect(await page.getByTestId('join-channel').inputValue()).toBe(CHANNEL)

    // Mute and camera off by their shortcuts, wherever the focus is.
    mark = b.engineEvents.length
    await page.keyboard.press('Control+D')
    await page.locator('[data-testid="toggle-mic"][aria-pressed="false"]').waitFor()
    await witness(b, 'userAudioStop', mark)
    mark = b.engineEvents.length
    await page.keyboard.press('Control+E')
    await page.locator('[data-testid="toggle-cam"][aria-pressed="false"]').waitFor()
    await witness(b, 'userVideoStop', mark)

    // The camera button itself, reached by Tab and pressed with Space, turns it back on.
    await tabTo(page, 'toggle-cam')
    mark = b.engineEvents.length
    await page.keyboard.press('Space')
    await page.locator('[data-testid="toggle-cam"][aria-pressed="true"]').waitFor()
    await witness(b, 'userVideoStart', mark)
    expect(await pressed(page, 'toggle-mic')).toBe('false')

    // Share: Ctrl+Shift+S starts (Chromium's fake display capture, its picker accepted by the flags), B
    // sees it on its stage; the same keys stop it.
    mark = b.engineEvents.length
    await page.keyboard.press('Control+Shift+S')
    await page.locator('[data-testid="toggle-share"][aria-pressed="true"]').waitFor({ timeout: 15_000 })
    await witness(b, 'userSubStreamVideoStart', mark)
    await b.page
      .locator(`[data-testid="screen-stage"] [data-testid="screen-canvas"][data-uid="${UID_A}"]`)
      .waitFor({ state: 'attached', timeout: 15_000 })
    mark = b.engineEvents.length
    await page.keyboard.press('Control+Shift+S')
    await page.locator('[data-testid="toggle-share"][aria-pressed="false"]').waitFor()
    await witness(b, 'userSubStreamVideoStop', mark)

    // Leave: Ctrl+Shift+H.
    mark = b.engineEvents.length
    await page.keyboard.press('Control+Shift+H')
    await waitForState(a, 1)
    await witness(b, 'userLeft', mark)
    await page.getByTestId('join-button').waitFor()
  }, 90_000)
})
