import type { Browser, Page } from 'playwright-core'
import { participantArgs } from '../../e2e/browser/browsers'
import type { FakeMedia } from '../../e2e/browser/fakeMedia'
import type { BenchLink } from './link'
import type { DmzCoturn } from './labSetup'
import { measureCall, until, type Timing } from './measure'
import type { DirectionRecord } from './metrics'
import { FIRST_VIDEO_MS, type SideResult } from './ours'
import { NATIVE_PAGE, nativeTxRates, sampleAt, type NativeSample } from './pageScripts'
import type { BenchProfile } from './profiles'

/**
 * The anchor's side of one profile: two Chromiums in `lan`, each with its own RTCPeerConnection (VP8 and
 * Opus from the same fake camera and microphone files as ours), relay-only through coturn in dmz — UDP 3478,
 * or TURN over TLS on 443 when the profile blocks UDP. The bench carries offer and answer between the pages
 * (complete gathering, no trickle).
 */

export interface NativeContext {
  launch(args: string[]): Promise<Browser>
  /** Extra Chromium flags (the coturn certificate's SPKI pin, for `turns:`). */
  extraArgs: string[]
  media: [FakeMedia, FakeMedia]
  coturn: DmzCoturn
  link: BenchLink
  timing: Timing
}

// http://localhost is a secure context (getUserMedia works); Playwright answers it, nothing listens.
const PAGE_URL = 'http://localhost/bench-network-native'

interface NativeStatus {
  connection: string
  errors: string[]
  frames: number
}

async function openPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 400 } })
  page.on('pageerror', (error) => console.error('native page error:', error))
  await page.route(PAGE_URL, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: NATIVE_PAGE }),
  )
  await page.goto(PAGE_URL)
  return page
}

const status = (page: Page): Promise<NativeStatus> => page.evaluate('window.bench.status()')

/** Received video and concealed audio at one receiver between two getStats samples around the window. */
function received(
  samples: readonly NativeSample[],
  fromMs: number,
  toMs: number,
): Omit<DirectionRecord, 'sent' | 'received'> {
  const from = sampleAt(samples, fromMs)
  const to = sampleAt(samples, toMs)
  if (from === undefined || to === undefined || to.at <= from.at) return { rxKbps: null, audio: null }
  return {
    rxKbps: ((to.rxVideo - from.rxVideo) * 8) / (to.at - from.at),
    audio: { concealed: to.concealed - from.concealed, total: to.samples - from.samples },
  }
}

export async function runNative(context: NativeContext, profile: BenchProfile): Promise<SideResult> {
  const browsers: Browser[] = []
  try {
    const pages: Page[] = []
    for (const media of context.media) {
      const browser = await context.launch([...participantArgs(media), ...context.extraArgs])
      browsers.push(browser)
      pages.push(await openPage(browser))
    }
    const [a, b] = pages as [Page, Page]
    const transport = profile.tlsOnly ? 'tls' : 'udp'
    const offer = await a.evaluate(
      `window.bench.offer(${JSON.stringify(context.coturn.iceServer(transport, 'native-a'))})`,
    )
    const answer = await b.evaluate(
      `window.bench.answer(${JSON.stringify(context.coturn.iceServer(transport, 'native-b'))}, ${JSON.stringify(offer)})`,
    )
    await a.evaluate(`window.bench.accept(${JSON.stringify(answer)})`)
    const notes: string[] = []
    for (const [i, page] of pages.entries()) {
      await until(async () => (await status(page)).connection === 'connected', 'connected', 30_000).catch(
        async (error: unknown) => {
          throw new Error(`${String(error)}; page: ${JSON.stringify(await status(page))}`, { cause: error })
        },
      )
      await until(async () => (await status(page)).frames > 10, 'video', FIRST_VIDEO_MS).catch(() =>
        notes.push(
          `${profile.name}: native-${i} showed no video within ${FIRST_VIDEO_MS / 1000} s; measured anyway`,
        ),
      )
    }
    const measured = await measureCall(
      [
        { page: a, local: '#local', remote: '#remote' },
        { page: b, local: '#local', remote: '#remote' },
      ],
      profile,
      context.link,
      context.timing,
    )
    const samples = [
      (await a.evaluate('window.bench.samples()')) as NativeSample[],
      (await b.evaluate('window.bench.samples()')) as NativeSample[],
    ] as const
    const { fromMs, toMs } = measured
    const directions: DirectionRecord[] = [0, 1].map((sender) => {
      const receiver = 1 - sender
      return {
        sent: measured.previews[sender]!,
        received: measured.rendered[receiver]!,
        ...received(samples[receiver]!, fromMs, toMs),
      }
    })
    for (const page of pages) await page.evaluate('window.bench.close()')
    return {
      record: { fromMs, toMs, directions, txRates: samples.map(nativeTxRates) },
      ...(measured.step ? { step: measured.step } : {}),
      notes,
      loadAverage: measured.loadAverage,
    }
  } finally {
    for (const browser of browsers) await browser.close()
  }
}
