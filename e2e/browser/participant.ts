import type { Browser, Page } from 'playwright-core'
import type { InvokeChannel } from '../../src/shared/ipc'
import { waitFor } from '../support/tools'
import { launchParticipant } from './browsers'
import type { FakeMedia } from './fakeMedia'
import { dominantColor, sampleCanvas, tileFigures, timelineEntries } from './pageProbe'

/**
 * One person in the call, whichever host runs the app (the browser host here, Electron in
 * e2e/app/electron.test.ts): the helpers below and the scenarios (scenarios.ts) only use the page.
 */
export interface Participant {
  name: string
  page: Page
  /**
   * Starts noting the page's invokes of `channels`; the function returned stops and gives what was noted
   * since, in order (empty: none was sent). For invokes that must not happen: Electron answers them itself.
   */
  watchInvokes(channels: readonly InvokeChannel[]): Promise<() => Promise<string[]>>
  close(): Promise<void>
}

/** One person through the browser host: their own Chromium (own fake camera and microphone). */
export interface BrowserParticipant extends Participant {
  media: FakeMedia
  browser: Browser
  /** Text frames the page sent on the bridge's WebSocket (invokes), to prove what was not sent. */
  sentFrames: string[]
  /** The engine's events the host sent the page, in order (the bridge's `{t: 'event'}` frames). */
  engineEvents: { name: string; args: unknown[] }[]
}

export async function openParticipant(
  name: string,
  media: FakeMedia,
  url: string,
  /** Plain JS run in the page before its own scripts (stand-in devices, taps). */
  initScripts: readonly string[] = [],
): Promise<BrowserParticipant> {
  const browser = await launchParticipant(media)
  // A context of its own rather than browser.newPage(): axe (@axe-core/playwright) opens a page beside it.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const sentFrames: string[] = []
  const engineEvents: BrowserParticipant['engineEvents'] = []
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => {
      if (typeof payload === 'string') sentFrames.push(payload)
    })
    socket.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') return
      const message = JSON.parse(payload) as { t?: string; name?: string; args?: unknown[] }
      if (message.t === 'event') engineEvents.push({ name: message.name!, args: message.args ?? [] })
    })
  })
  page.on('pageerror', (error) => console.error(`${name} page error:`, error))
  for (const script of initScripts) await page.addInitScript(script)
  await page.goto(url)
  await waitForApp(page)
  return {
    name,
    media,
    browser,
    page,
    sentFrames,
    engineEvents,
    watchInvokes: async (channels) => {
      const before = sentFrames.length
      return async () =>
        sentFrames.slice(before).filter((frame) => channels.some((name) => frame.includes(`"${name}"`)))
    },
    close: () => browser.close(),
  }
}

/** The app has read its settings: the join button is enabled. */
export async function waitForApp(page: Page): Promise<void> {
  await page.getByTestId('join-button').and(page.locator(':enabled')).waitFor()
}

export async function chooseProxyMode(p: Participant, mode: number): Promise<void> {
  await p.page.getByTestId(`proxy-mode-${mode}`).click()
  await p.page.locator(`[data-testid="proxy-mode-${mode}"][aria-checked="true"]`).waitFor()
}

export async function join(p: Participant, channel: string, uid: number): Promise<void> {
  await p.page.getByTestId('join-channel').fill(channel)
  await p.page.getByTestId('join-uid').fill(String(uid))
  await p.page.getByTestId('join-token').fill('')
  await p.page.getByTestId('join-button').click()
}

export function waitForState(p: Participant, state: number, timeoutMs = 30_000): Promise<void> {
  return p.page
    .locator(`[data-testid="connection-state"][data-state="${state}"]`)
    .waitFor({ timeout: timeoutMs })
}

/** The transitions since the last join started (Connecting / joinChannel). */
export async function lastJoinTimeline(p: Participant): Promise<{ state: number; reason: number }[]> {
  const entries = await timelineEntries(p.page)
  const start = entries.map((e) => e.state === 2 && e.reason === 5).lastIndexOf(true)
  return start < 0 ? [] : entries.slice(start)
}

export interface Reception {
  frames: number
  level: number
  color: ReturnType<typeof dominantColor>
  changed: boolean
}

/** Waits until `receiver` decodes video and plays audio from `senderUid`, then samples the tile until its pixels change (or 5 s). */
export async function receiveFrom(receiver: Participant, senderUid: number): Promise<Reception> {
  const { page } = receiver
  let level = 0
  try {
    await page.locator(`[data-testid="remote-tile"][data-uid="${senderUid}"]`).waitFor({ timeout: 20_000 })
    await waitFor(
      async () => (await tileFigures(page, senderUid)).frames > 30,
      `${receiver.name}: frames`,
      20_000,
    )
    await waitFor(
      async () => (level = Math.max(level, (await tileFigures(page, senderUid)).level)) > 0.02,
      `${receiver.name}: audio above silence`,
      15_000,
    )
  } catch (error) {
    // What the page itself says (a decoder refusing frames, a device that did not start) names the cause.
    throw new Error(`${String(error)}; notices on ${receiver.name}'s page: ${await noticesText(page)}`, {
      cause: error,
    })
  }
  // Pixels change between frames (the square moves 8 px a frame); under load a frame can repeat, so
  // look for a different picture within a few seconds rather than at one instant.
  const first = await sampleCanvas(page, senderUid)
  let last = first
  const deadline = Date.now() + 5000
  while (last.hash === first.hash && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    last = await sampleCanvas(page, senderUid)
  }
  return {
    frames: (await tileFigures(page, senderUid)).frames,
    level,
    color: dominantColor(last),
    changed: first.hash !== last.hash,
  }
}

async function noticesText(page: Page): Promise<string> {
  const notices = page.getByTestId('notice')
  return (await notices.count()) === 0 ? 'none' : (await notices.allInnerTexts()).join(' | ')
}

export async function leave(p: Participant): Promise<void> {
  await p.page.getByTestId('leave-button').click()
  await waitForState(p, 1)
}

/** Leaves if a previous test left this participant in a call (so one failure does not cascade). */
export async function ensureLeft(p: Participant): Promise<void> {
  if (await p.page.getByTestId('leave-button').isVisible()) await leave(p)
}

export async function closeParticipant(p: Participant | undefined): Promise<void> {
  await p?.close()
}
