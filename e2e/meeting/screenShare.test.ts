import { join as joinPath } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { screenshot } from '../browser/artifacts'
import { type FakeMedia } from '../browser/fakeMedia'
import { sizedColoursAt, type Rgb } from '../browser/pageProbe'
import {
  closeParticipant,
  join,
  openParticipant,
  waitForState,
  type BrowserParticipant,
} from '../browser/participant'
import { sleep, waitFor } from '../support/tools'
import { openTwoPeople, type TwoPeople } from './twoPeople'

/**
 * Issue 13, acceptance 2: A shares a screen through the browser host and B (then C, joining during the
 * share) sees it on the stage. The screen is Chromium's own fake display capture — what getDisplayMedia
 * returns under --use-fake-device-for-media-stream with --use-fake-ui-for-media-stream (which also accepts
 * its picker), in headless Chromium too: a known test pattern, 1920x1080 at the 15 fps asked for, a dark
 * green field with a bright green disc in the middle (a "pacman" whose mouth opens to the right) and a frame
 * counter. No stand-in at the capture boundary is needed. The cameras are red and blue, so a stage that
 * showed a camera instead of the share fails the pixel check.
 */

const CHANNEL = 'share'
const UID_A = 6101
const UID_B = 6102
const UID_C = 6103
const SHOTS = joinPath(process.cwd(), 'test-results', 'meeting')
const stageCanvas = (uid: number) =>
  `[data-testid="screen-stage"] [data-testid="screen-canvas"][data-uid="${uid}"]`

/**
 * Points of the pattern as fractions of the picture (it scales with the encoded size). The field: left and
 * right of the disc and above it. The disc: eight points on a circle around its centre, half its radius out;
 * the disc is drawn as a pie whose angle sweeps with the frame count (Chromium's fake device), so each of these
 * is either disc or field, and some are disc.
 */
const FIELD: [number, number][] = [
  [0.15, 0.5],
  [0.85, 0.5],
  [0.5, 0.12],
]
const DISC: [number, number][] = Array.from({ length: 8 }, (_, i) => {
  const angle = (i * Math.PI) / 4 + Math.PI / 8
  return [0.5 + (0.125 * Math.cos(angle) * 9) / 16, 0.5 + 0.125 * Math.sin(angle)]
})

const isField = ([r, g, b]: Rgb): boolean => r < 60 && g > 90 && g < 180 && b < 60
const isDisc = ([r, g, b]: Rgb): boolean => r < 140 && g > 200 && b < 90
/** The picture is the pattern: field outside the disc; inside, only disc or field colour, some disc. */
const isPattern = (p: { field: Rgb[]; disc: Rgb[] }): boolean =>
  p.field.every(isField) && p.disc.every((c) => isDisc(c) || isField(c)) && p.disc.some(isDisc)

/** The stage's colours at the pattern's points, and the picture's size. */
async function readPattern(page: Page, uid: number): Promise<{ width: number; field: Rgb[]; disc: Rgb[] }> {
  const size = (await page.evaluate(
    `(() => { const c = document.querySelector(${JSON.stringify(stageCanvas(uid))}); return [c.width, c.height] })()`,
  )) as [number, number]
  const at = (points: [number, number][]) =>
    points.map(([x, y]): [number, number] => [Math.round(x * size[0]), Math.round(y * size[1])])
  const field = await sizedColoursAt(page, stageCanvas(uid), at(FIELD))
  const disc = await sizedColoursAt(page, stageCanvas(uid), at(DISC))
  return { width: field.width, field: field.colours, disc: disc.colours }
}

async function framesOnStage(page: Page, uid: number): Promise<number> {
  const value = await page.locator(stageCanvas(uid)).getAttribute('data-frames')
  return Number(value ?? 0)
}

/** How long after C's page shows Connected A's share must be on C's stage (issue 13 acceptance 2). */
const LATE_JOINER_MS = 2000

/**
 * C's page watches itself (an init script, so from before the join): when the call state turns Connected it
 * gives the share `LATE_JOINER_MS` by its own clock to show a decoded frame on the stage, and notes which came
 * first. Asked over Playwright instead, the two events were seen 0.3–3.4 s late on a loaded machine (each call
 * crosses the test process, whose event loop also runs the conference server, the proxy and three engines:
 * p50 160 ms, p99 630 ms of delay), so a share already on C's stage could miss the 2 s.
 */
const watchLateJoin = (uid: number): string => `(() => {
  const w = { connectedAt: null, sharedAt: null, outcome: null }
  window.__lateJoin = w
  const timer = setInterval(() => {
    const now = performance.now()
    if (w.connectedAt === null && document.querySelector('[data-testid="connection-state"][data-state="3"]')) {
      w.connectedAt = now
    }
    const canvas = document.querySelector(${JSON.stringify(stageCanvas(uid))})
    if (w.sharedAt === null && canvas && Number(canvas.getAttribute('data-frames')) > 0) w.sharedAt = now
    if (w.connectedAt === null) return
    if (w.outcome === null && w.sharedAt !== null) {
      w.outcome = w.sharedAt - w.connectedAt <= ${LATE_JOINER_MS} ? 'seen' : 'late'
    } else if (w.outcome === null && now - w.connectedAt > ${LATE_JOINER_MS}) w.outcome = 'late'
    // Late: still watching, to say when it came.
    if (w.sharedAt !== null) clearInterval(timer)
  }, 10)
})()`

interface LateJoin {
  connectedAt: number | null
  sharedAt: number | null
  outcome: 'seen' | 'late' | null
}

const lateJoin = (page: Page) => page.evaluate('window.__lateJoin') as Promise<LateJoin>

/** What A's share control says it has sent: frames, bytes, and the encoder's size@fps/bitrate. */
async function sent(page: Page): Promise<{ frames: number; bytes: number; encoder: string }> {
  const control = page.getByTestId('toggle-share')
  const [frames, bytes, encoder] = await Promise.all(
    ['data-sent-frames', 'data-sent-bytes', 'data-encoder'].map((name) => control.getAttribute(name)),
  )
  return { frames: Number(frames ?? 0), bytes: Number(bytes ?? 0), encoder: encoder ?? '' }
}

/** Over `ms`: frames per second decoded on `receiver`'s stage, and sent by the sharer (frames, kbit/s). */
async function rates(sharer: Page, receiver: Page, uid: number, ms: number) {
  const t0 = Date.now()
  const [s0, r0] = await Promise.all([sent(sharer), framesOnStage(receiver, uid)])
  await sleep(ms)
  const [s1, r1] = await Promise.all([sent(sharer), framesOnStage(receiver, uid)])
  const seconds = (Date.now() - t0) / 1000
  return {
    receivedFps: (r1 - r0) / seconds,
    sentFps: (s1.frames - s0.frames) / seconds,
    sentKbps: ((s1.bytes - s0.bytes) * 8) / seconds / 1000,
    encoder: s1.encoder,
  }
}

describe('screen sharing through the browser host (Chromium fake display capture)', () => {
  let people: TwoPeople
  let a: BrowserParticipant
  let b: BrowserParticipant
  let c: BrowserParticipant | undefined
  let blue: FakeMedia

  beforeAll(async () => {
    people = await openTwoPeople('share')
    ;({ a, b } = people)
    blue = people.media.b
  }, 120_000)

  afterAll(async () => {
    await closeParticipant(c)
    await people?.close()
  })

  it('B sees A’s share on the stage at ≥ 5 fps with the pattern; C joining during it sees it within 2 s; it stops with A', async () => {
    // Only A's camera runs (the stage must show A's share, not A's camera, beside it): two cores are shared by
    // three Chromiums, the conference server and the proxy here, so the others' cameras stay off.
    await b.page.getByTestId('toggle-cam').click()
    await join(a, CHANNEL, UID_A)
    await join(b, CHANNEL, UID_B)
    await Promise.all([waitForState(a, 3, 60_000), waitForState(b, 3, 60_000)])

    await a.page.getByTestId('toggle-share').click()
    await a.page.locator('[data-testid="toggle-share"][aria-pressed="true"]').waitFor({ timeout: 10_000 })
    // A's own preview is not needed on A's stage for this check; B's stage is.
    await b.page.locator(stageCanvas(UID_A)).waitFor({ timeout: 20_000 })
    await waitFor(async () => (await framesOnStage(b.page, UID_A)) > 10, 'B decodes A’s share', 20_000)

    const r = await rates(a.page, b.page, UID_A, 5000)
    console.info(
      `A sends ${r.sentFps.toFixed(1)} fps, ${r.sentKbps.toFixed(0)} kbit/s (encoder ${r.encoder}); ` +
        `B's stage decodes ${r.receivedFps.toFixed(1)} fps`,
    )
    // Soft: the checks below still run (and say what they found) when the rate falls short on a loaded machine.
    expect.soft(r.receivedFps, "frames per second on B's stage").toBeGreaterThanOrEqual(5)
    // Camera and share decode apart: B still has A's camera tile (red) beside the stage.
    await screenshot(b.page, 'screen-share-b', SHOTS)
    // Read until a frame shows some of the disc (its pie is empty for a moment every cycle).
    let pattern = await readPattern(b.page, UID_A)
    await waitFor(
      async () => isPattern((pattern = await readPattern(b.page, UID_A))),
      `the pattern on B's stage (last: ${JSON.stringify(pattern)})`,
      10_000,
    ).catch(() => undefined)
    console.info(`B's stage: ${pattern.width} px wide, ${JSON.stringify(pattern)}`)
    expect(pattern.field.every(isField), `field ${JSON.stringify(pattern.field)}`).toBe(true)
    expect(isPattern(pattern), `disc ${JSON.stringify(pattern.disc)}`).toBe(true)

    // C joins while A shares: the share is on C's stage within 2 s of C being in the call, by C's clock.
    c = await openParticipant('C', blue, people.host.url, [watchLateJoin(UID_A)])
    await c.page.getByTestId('toggle-cam').click()
    await join(c, CHANNEL, UID_C)
    await waitForState(c, 3, 60_000)
    let seen = await lateJoin(c.page)
    // However long it takes (said below), then whether it was in time.
    await waitFor(
      async () => (seen = await lateJoin(c!.page)).sharedAt !== null && seen.outcome !== null,
      'A’s share on C’s stage',
      30_000,
    ).catch(() => undefined)
    const ms = seen.sharedAt === null ? 'none' : `${Math.round(seen.sharedAt - seen.connectedAt!)} ms`
    console.info(`C: A's share on the stage ${ms} after Connected (${seen.outcome})`)
    expect(seen.outcome, `C sees A’s share within ${LATE_JOINER_MS} ms of Connected`).toBe('seen')
    await screenshot(c.page, 'screen-share-c-joined', SHOTS)

    // A stops from the app: the stage goes on B and C, and A's control is back to "Share screen".
    await a.page.getByTestId('toggle-share').click()
    await a.page.locator('[data-testid="toggle-share"][aria-pressed="false"]').waitFor()
    await b.page.getByTestId('screen-stage').waitFor({ state: 'detached', timeout: 10_000 })
    await c.page.getByTestId('screen-stage').waitFor({ state: 'detached', timeout: 10_000 })
    await screenshot(b.page, 'screen-share-stopped-b', SHOTS)
  }, 150_000)
})
