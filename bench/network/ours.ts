import type { Browser, Page } from 'playwright-core'
import { participantArgs } from '../../e2e/browser/browsers'
import type { FakeMedia } from '../../e2e/browser/fakeMedia'
import { tileFigures } from '../../e2e/browser/pageProbe'
import {
  chooseProxyMode,
  leave,
  waitForApp,
  waitForState,
  type Participant,
} from '../../e2e/browser/participant'
import { LAB_APP } from '../../e2e/lab/labProxy'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import type { BenchLink } from './link'
import { measureCall, until, type Timing } from './measure'
import type { DirectionRecord, SideRecord, StepTimes } from './metrics'
import { oursRecord, oursTxRates, startOursRecorder, type OursRecord } from './pageScripts'
import type { BenchProfile } from './profiles'

/**
 * Our side of one profile: two Chromiums in `lan` running the built renderer through the browser host (also
 * in lan), joined to one channel through the proxy in dmz and the conference server in srv, each sending its
 * fake camera and microphone. UDP proxy mode, or TCP (TLS 443) when the profile blocks UDP.
 */

const UIDS = [1001, 2002] as const
const PROXY_MODE = { udp: 1, tls: 2 } as const
/** How long a side gets to show video before its warm-up starts anyway. */
export const FIRST_VIDEO_MS = 20_000

const NO_AUDIO_NOTE =
  'ours audio_concealed_ratio: this renderer shows no concealed-samples counter on its tiles'
const RX_TOTAL_NOTE = 'ours rx_kbps: video + audio from rtcStats (this engine emits no remoteVideoStats yet)'

export interface OursContext {
  hostUrl: string
  launch(args: string[]): Promise<Browser>
  media: [FakeMedia, FakeMedia]
  link: BenchLink
  timing: Timing
}

export interface SideResult {
  record: SideRecord
  step?: StepTimes
  /** Where a figure comes from when it is not what its name says (printed under the table). */
  notes: string[]
  /** 1-minute load average when the window closed. */
  loadAverage: number
}

/** The e2e/browser helpers only use the page. */
const asParticipant = (name: string, page: Page): Participant => ({
  name,
  page,
  watchInvokes: () => Promise.reject(new Error('not watched')),
  close: () => Promise.resolve(),
})

async function joinWithToken(page: Page, channel: string, uid: number): Promise<void> {
  const token = await mintJoinToken({ ...LAB_APP, secret: LAB_APP.secret, channel, uid, ttlSeconds: 3600 })
  await page.getByTestId('join-channel').fill(channel)
  await page.getByTestId('join-uid').fill(String(uid))
  await page.getByTestId('join-token').fill(token)
  await page.getByTestId('join-button').click()
}

/** Video received from `uid` over the window: remoteVideoStats when the engine emits them, else null. */
function rxVideoKbps(record: OursRecord, uid: number, fromMs: number, toMs: number): number | null {
  const kbps = record.remote
    .filter((r) => r.at > fromMs && r.at <= toMs)
    .flatMap((r) => r.list.filter((entry) => entry.uid === uid).map((entry) => entry.rxKbps))
  return kbps.length === 0 ? null : kbps.reduce((a, b) => a + b, 0) / kbps.length
}

interface AudioCounts {
  received: number
  concealed: number
}

/** The remote tile's audio counters (samples played from packets, and concealed), when the renderer has them. */
async function audioCounts(page: Page, uid: number): Promise<AudioCounts | undefined> {
  const tile = page.locator(`[data-testid="remote-tile"][data-uid="${uid}"]`)
  const received = await tile.getAttribute('data-audio-received')
  const concealed = await tile.getAttribute('data-audio-concealed')
  if (received === null || concealed === null) return undefined
  return { received: Number(received), concealed: Number(concealed) }
}

/** Concealed / all samples played over the window (native's concealedSamples / totalSamplesReceived). */
function audioDelta(start: AudioCounts | undefined, end: AudioCounts | undefined): DirectionRecord['audio'] {
  if (start === undefined || end === undefined) return null
  const concealed = end.concealed - start.concealed
  return { concealed, total: end.received - start.received + concealed }
}

/** Everything received (video + audio) over the window, from rtcStats: the fallback for rxVideoKbps. */
function rxTotalKbps(record: OursRecord, fromMs: number, toMs: number): number | null {
  const kbps = record.stats.filter((s) => s.at > fromMs && s.at <= toMs).map((s) => s.rx)
  return kbps.length === 0 ? null : kbps.reduce((a, b) => a + b, 0) / kbps.length
}

export async function runOurs(context: OursContext, profile: BenchProfile): Promise<SideResult> {
  const browsers: Browser[] = []
  try {
    const pages: Page[] = []
    for (const media of context.media) {
      const browser = await context.launch(participantArgs(media))
      browsers.push(browser)
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      page.on('pageerror', (error) => console.error(`ours page error:`, error))
      await page.goto(context.hostUrl)
      await waitForApp(page)
      await startOursRecorder(page)
      pages.push(page)
    }
    const [a, b] = pages as [Page, Page]
    const mode = profile.tlsOnly ? PROXY_MODE.tls : PROXY_MODE.udp
    const channel = `bench-network-${profile.name}-${Date.now()}`
    // Both join at once: a desktop alone in the channel already sends, and on a link narrower than that
    // (poor) the second one's join would queue behind it.
    await Promise.all(
      pages.map(async (page, i) => {
        const participant = asParticipant(`ours-${i}`, page)
        await chooseProxyMode(participant, mode)
        await joinWithToken(page, channel, UIDS[i]!)
        await waitForState(participant, 3, 60_000).catch(async (error: unknown) => {
          const state = await page.getByTestId('connection-state').getAttribute('data-state')
          throw new Error(`ours-${i} not connected (state ${state})`, { cause: error })
        })
      }),
    )
    const notes: string[] = []
    for (const [i, page] of pages.entries()) {
      const from = UIDS[1 - i]!
      await page.locator(`[data-testid="remote-tile"][data-uid="${from}"]`).waitFor({ timeout: 30_000 })
      // A call that never shows video is measured all the same: its window is one long freeze.
      await until(async () => (await tileFigures(page, from)).frames > 10, 'video', FIRST_VIDEO_MS).catch(
        () =>
          notes.push(
            `${profile.name}: ours-${i} showed no video within ${FIRST_VIDEO_MS / 1000} s; measured anyway`,
          ),
      )
    }
    // Each receiver's audio counters (cumulative) as the window opens and closes.
    const audioAt: Record<'start' | 'end', (AudioCounts | undefined)[]> = { start: [], end: [] }
    const measured = await measureCall(
      [
        {
          page: a,
          local: '[data-testid="local-preview"]',
          remote: `[data-testid="remote-video-${UIDS[1]}"]`,
        },
        {
          page: b,
          local: '[data-testid="local-preview"]',
          remote: `[data-testid="remote-video-${UIDS[0]}"]`,
        },
      ],
      profile,
      context.link,
      context.timing,
      async (edge) => {
        for (const [i, page] of pages.entries()) audioAt[edge][i] = await audioCounts(page, UIDS[1 - i]!)
      },
    )
    const records = [await oursRecord(a), await oursRecord(b)] as const
    const { fromMs, toMs } = measured
    const directions: DirectionRecord[] = [0, 1].map((sender) => {
      const receiver = 1 - sender
      const video = rxVideoKbps(records[receiver]!, UIDS[sender]!, fromMs, toMs)
      if (video === null && !notes.includes(RX_TOTAL_NOTE)) notes.push(RX_TOTAL_NOTE)
      const audio = audioDelta(audioAt.start[receiver], audioAt.end[receiver])
      if (audio === null && !notes.includes(NO_AUDIO_NOTE)) notes.push(NO_AUDIO_NOTE)
      return {
        sent: measured.previews[sender]!,
        received: measured.rendered[receiver]!,
        rxKbps: video ?? rxTotalKbps(records[receiver]!, fromMs, toMs),
        audio,
      }
    })
    for (const [i, page] of pages.entries()) {
      await leave(asParticipant(`ours-${i}`, page))
    }
    return {
      record: { fromMs, toMs, directions, txRates: records.map(oursTxRates) },
      ...(measured.step ? { step: measured.step } : {}),
      notes,
      loadAverage: measured.loadAverage,
    }
  } finally {
    for (const browser of browsers) await browser.close()
  }
}
