import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { requireBrowserTools } from '../browser/browsers'
import { buildRenderer } from '../browser/buildRenderer'
import { makeFakeMedia } from '../browser/fakeMedia'
import {
  closeParticipant,
  join,
  leave,
  openParticipant,
  waitForApp,
  waitForState,
  type BrowserParticipant,
  type Participant,
} from '../browser/participant'
import { chromiumBaseArgs } from '../support/chromium'
import { requireTool, sleep, waitFor } from '../support/tools'
import {
  NO_AEC_SCRIPT,
  NO_LOOPBACK_SCRIPT,
  PLAIN_MIC_SCRIPT,
  PULSEAUDIO,
  echoTimeline,
  loopbackFigures,
  makeVoiceTone,
  meanPowerDb,
  medianDb,
  pageNow,
  pulseClientEnv,
  startPulseAudio,
  toneTapScript,
  toneWindows,
  type LoopbackFigures,
  type PulseServer,
} from './echoPath'
import { openCpuGroup, type CpuGroup } from './echoCpu'

/**
 * Issue 13 item 1: echo cancellation works on the playback path the app uses. A real echo path: A's Chromium
 * plays into a PulseAudio null sink whose monitor is A's microphone (echoPath.ts), with no fake audio device;
 * B's fake microphone speaks syllables on a 220 Hz voice-like tone. The tone's energy A plays (its worklet's
 * output for B) is compared with the tone's energy that comes back to B through A's microphone (B's worklet's
 * output for A), at 220 Hz, over the same stretch after the canceller has had time to learn the path.
 * A's Chromium and its PulseAudio daemon run in a CPU group ahead of the rest of the machine (echoCpu.ts: on
 * a loaded 2-core machine Chromium's audio service otherwise runs late and the canceller re-learns the path
 * mid-run); docs/media.md "What loses the path" has the runs. PINHOLE_ECHO_TRACE=dir keeps Chromium's and
 * PulseAudio's logs; each run prints the echo per 250 ms so a loss shows when it happened.
 */

const TONE_HZ = 220
const CHANNEL = 'echo-path'
const UID_B = 5200
/** The canceller's time to learn the echo path once A plays B's voice, then the measured stretch. */
const SETTLE_MS = 4000
const MEASURE_MS = 5000

const pulseMissing = !existsSync(PULSEAUDIO)
if (pulseMissing)
  console.log(`echo test skipped: ${PULSEAUDIO} is not installed (apt-get install pulseaudio)`)

interface EchoRun {
  /** The tone A played: mean power of the measured stretch's 100 ms windows, dB re full scale. */
  playedDb: number
  /** The tone that came back to B, likewise. */
  returnedDb: number
  /** returned − played: the echo's energy B hears, relative to what B said. */
  echoDb: number
  /** The same from the median windows (the level most of the time, bursts left out): shown, not judged. */
  medianEchoDb: number
  /** The echo in 250 ms windows from A's first playing B's tone (dB re `playedDb`): shown, not judged. */
  timeline: number[]
  loopback: LoopbackFigures
}

/**
 * `cancelled` has its echo ≥ 20 dB below what A played, and `control` (the same path without that canceller)
 * at least 20 dB louder than that; A played B's tone throughout each run, and in the control it came back.
 */
function expectCancelled(cancelled: EchoRun, control: EchoRun): void {
  for (const run of [cancelled, control]) expect(run.playedDb).toBeGreaterThan(-50)
  expect(cancelled.echoDb).toBeLessThanOrEqual(-20)
  expect(control.returnedDb).toBeGreaterThan(-50)
  expect(control.echoDb).toBeGreaterThan(-20)
  expect(control.echoDb - cancelled.echoDb).toBeGreaterThanOrEqual(20)
}

/**
 * Each test may run up to three times (retry: 2), every attempt with its own A and printed: in this container
 * Chromium's canceller still loses the path now and then with no app at all (a plain page, echoPlainPage.ts),
 * in about one run of six on a quiet machine (docs/media.md "What holds the path"); an attempt that fails shows
 * its figures, and the criterion is the same for every attempt.
 */
describe.skipIf(pulseMissing)(
  'echo through a real speaker-to-microphone path (PulseAudio, Chromium)',
  { retry: 2 },
  () => {
    let dir: string
    let cpu: CpuGroup | undefined
    let pulse: PulseServer | undefined
    let host: WebHost
    let b: BrowserParticipant
    let nextUid = 5100

    /** PINHOLE_ECHO_TRACE=dir: Chromium's and PulseAudio's logs go there (AEC3's delay, stream underruns). */
    const trace = process.env.PINHOLE_ECHO_TRACE
    let launches = 0

    /** A's Chromium: the real (PulseAudio) microphone and speaker, no fake device, audio not muted. */
    function launchA(extraArgs: string[] = []): Promise<Browser> {
      const log = trace
        ? ['--enable-logging', `--log-file=${joinPath(trace, `chromium-A-${++launches}.log`)}`, '--v=1']
        : []
      return chromium.launch({
        executablePath: cpu!.wrap(requireTool('chromium')),
        headless: true,
        args: [
          ...chromiumBaseArgs(),
          '--use-fake-ui-for-media-stream',
          '--autoplay-policy=no-user-gesture-required',
          ...extraArgs,
          ...log,
        ],
        ignoreDefaultArgs: ['--mute-audio'],
        env: pulseClientEnv(pulse!),
      })
    }

    /** A joins with `scripts` run before the app, plays B's tone until the canceller settles, is measured, leaves. */
    async function measure(browser: Browser, scripts: string[]): Promise<EchoRun> {
      const context = await browser.newContext()
      try {
        for (const script of [toneTapScript(TONE_HZ), ...scripts]) await context.addInitScript(script)
        const page = await context.newPage()
        page.on('pageerror', (error) => console.error('A page error:', error))
        const a: Participant = {
          name: 'A',
          page,
          watchInvokes: () => Promise.reject(new Error('unused')),
          close: () => context.close(),
        }
        await page.goto(host.url)
        await waitForApp(page)
        await join(a, CHANNEL, nextUid++)
        await waitForState(a, 3, 60_000)
        await waitFor(
          async () => (await toneWindows(page, 0)).some((w) => w.amplitude > 0.01),
          "A plays B's tone",
          20_000,
        )
        const startB = await pageNow(b.page)
        await sleep(SETTLE_MS)
        const [fromA, fromB] = await Promise.all([pageNow(page), pageNow(b.page)])
        await sleep(MEASURE_MS)
        const [played, returned, sinceTone] = await Promise.all([
          toneWindows(page, fromA),
          toneWindows(b.page, fromB),
          toneWindows(b.page, startB),
        ])
        const loopback = await loopbackFigures(page)
        await leave(a)
        const [playedDb, returnedDb] = [meanPowerDb(played), meanPowerDb(returned)]
        const medianEchoDb = medianDb(returned) - medianDb(played)
        const timeline = echoTimeline(sinceTone, startB, playedDb)
        return { playedDb, returnedDb, echoDb: returnedDb - playedDb, medianEchoDb, timeline, loopback }
      } finally {
        await context.close()
      }
    }

    /** Two runs on one Chromium for A (launched with `args`): with the `first` scripts, then the `second`. */
    async function measureBoth(
      args: string[],
      first: string[],
      second: string[],
    ): Promise<[EchoRun, EchoRun]> {
      const browser = await launchA(args)
      try {
        return [await measure(browser, first), await measure(browser, second)]
      } finally {
        await browser.close()
      }
    }

    const show = (run: EchoRun): string =>
      `played ${run.playedDb.toFixed(1)} dBFS, back at B ${run.returnedDb.toFixed(1)} dBFS (mean power): echo ` +
      `${run.echoDb.toFixed(1)} dB (medians: ${run.medianEchoDb.toFixed(1)} dB); per 250 ms from A's first ` +
      `tone, measured from ${SETTLE_MS / 1000} s (windows above −20 dB: the path lost): ` +
      run.timeline.map((db) => db.toFixed(0)).join(' ')

    beforeAll(async () => {
      requireBrowserTools()
      dir = mkdtempSync(joinPath(tmpdir(), 'pinhole-echo-'))
      cpu = openCpuGroup('pinhole-echo', dir)
      if (!cpu.available) console.log(`echo: A runs without a CPU group (${cpu.reason})`)
      pulse = await startPulseAudio(dir, cpu)
      const video = await makeFakeMedia(dir, 'blue', 440)
      const voice = makeVoiceTone(dir, TONE_HZ)
      const rendererDir = joinPath(dir, 'renderer')
      await buildRenderer(rendererDir)
      host = await startWebHost({ dataDir: joinPath(dir, 'data'), rendererDir })
      b = await openParticipant('B', { ...video, audio: voice }, host.url)
      // B's own tap (what it plays of A) and a plain microphone: reload under them.
      await b.page.addInitScript(toneTapScript(TONE_HZ))
      await b.page.addInitScript(PLAIN_MIC_SCRIPT)
      await b.page.reload()
      await waitForApp(b.page)
      await join(b, CHANNEL, UID_B)
      await waitForState(b, 3, 60_000)
      // Audio only: A's page decodes no video, so the canceller's real-time work is all it does.
      await b.page.getByTestId('toggle-cam').click()
    }, 180_000)

    afterAll(async () => {
      await closeParticipant(b)
      await host?.close()
      await pulse?.stop()
      await cpu?.remove()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it('the app cancels the echo (≥ 20 dB below what B said); without the canceller it comes back far louder', async () => {
      const [cancelled, uncancelled] = await measureBoth([], [], [NO_AEC_SCRIPT])
      const { codec, jitterBufferMs, kbps } = cancelled.loopback
      console.log(`echo, app as shipped (loopback route): ${show(cancelled)}`)
      console.log(
        `loopback: ${codec}, ${kbps} kbit/s, jitter buffer ${jitterBufferMs.toFixed(0)} ms on average`,
      )
      console.log(`echo, echoCancellation false: ${show(uncancelled)}`)
      // The microphone that sends is the last one the page opened (the join screen's meter opens its own first).
      expect(cancelled.loopback.mics.at(-1)?.echoCancellation).toBe(true)
      expect(uncancelled.loopback.mics.at(-1)?.echoCancellation).toBe(false)
      expect(cancelled.loopback.peers).toBe(2)
      expect(codec).toMatch(/^audio\/opus/)
      expectCancelled(cancelled, uncancelled)
    }, 180_000)

    it("with Chromium's older in-page canceller, only the loopback route is cancelled (the Web Audio route is not heard)", async () => {
      const [loopbackRoute, webAudio] = await measureBoth(
        ['--disable-features=ChromeWideEchoCancellation'],
        [],
        [NO_LOOPBACK_SCRIPT],
      )
      console.log(`echo, in-page canceller, loopback route: ${show(loopbackRoute)}`)
      console.log(`echo, in-page canceller, old Web Audio route: ${show(webAudio)}`)
      expectCancelled(loopbackRoute, webAudio)
    }, 180_000)
  },
)
