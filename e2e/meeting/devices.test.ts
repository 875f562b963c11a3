import { join as joinPath } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { screenshot } from '../browser/artifacts'
import { join, waitForState, type BrowserParticipant } from '../browser/participant'
import { dominantColor, sampleCanvas, tileFigures } from '../browser/pageProbe'
import { waitFor } from '../support/tools'
import {
  CAMERAS,
  keyFrameTimes,
  MICS,
  pageNow,
  plug,
  sinkIds,
  SPEAKERS,
  STAND_IN_DEVICES_SCRIPT,
  TONE_TAP_SCRIPT,
  tonePower,
  TONES_HZ,
  unplug,
} from './standInDevices'
import { openTwoPeople, type TwoPeople } from './twoPeople'

/**
 * Issue 13, acceptance 1: devices mid-call, in Debian Chromium through the browser host (embedded stack).
 * A has two stand-in cameras (red, blue), two microphones (440 Hz, 1000 Hz) and two speakers
 * (standInDevices.ts); B watches A's tile and listens to A's audio. Switching A's camera changes the colour
 * B sees, switching A's microphone changes the tone B hears, both without a rejoin; unplugging the camera
 * in use falls back to the default with a notice, plugging it back offers it; the speaker choice reaches
 * setSinkId. Screenshots in test-results/meeting/devices/.
 */

const SHOTS = joinPath(process.cwd(), 'test-results', 'meeting', 'devices')
const CHANNEL = 'devices-e2e'
const UID_A = 3101
const UID_B = 3202

async function colourAt(page: Page, uid: number): Promise<ReturnType<typeof dominantColor>> {
  return dominantColor(await sampleCanvas(page, uid))
}

/** B's tile of A shows `colour` (within an upper bound: a switch, a key frame and the trip through the SFU). */
async function waitForColour(b: BrowserParticipant, colour: 'red' | 'blue', what: string): Promise<void> {
  await waitFor(async () => (await colourAt(b.page, UID_A)) === colour, `${what}: B sees ${colour}`, 30_000)
}

/** The tones of A's two microphones. */
const TONES = [TONES_HZ[MICS.low], TONES_HZ[MICS.high]] as const
/** "Hears" a tone: its power is this many times the other one's (a clean switch gives far more). */
const DOMINANCE = 10

/** What B decodes of A's audio is the tone at `hz`, the other tone far below it. */
async function waitForTone(b: BrowserParticipant, hz: number, what: string): Promise<void> {
  let last: number[] = []
  const heard = async (): Promise<boolean> => {
    last = await tonePower(b.page, TONES)
    const [wanted, other] = TONES[0] === hz ? last : [...last].reverse()
    return wanted! > 1e-4 && wanted! > DOMINANCE * other!
  }
  await waitFor(heard, `${what}: B hears ${hz} Hz`, 30_000).catch((error: unknown) => {
    throw new Error(`${String(error)} (powers at ${TONES.join(', ')} Hz: ${JSON.stringify(last)})`, {
      cause: error,
    })
  })
}

async function pick(page: Page, kind: 'camera' | 'microphone' | 'speaker', id: string): Promise<void> {
  await page.getByTestId(`device-${kind}`).selectOption(id)
}

function devicesNotice(page: Page) {
  return page.locator('[data-testid="notice"][data-slot="devices"]')
}

describe('devices mid-call (Chromium, stand-in cameras and microphones)', () => {
  let people: TwoPeople
  let a: BrowserParticipant
  let b: BrowserParticipant

  beforeAll(async () => {
    people = await openTwoPeople('devices', { a: [STAND_IN_DEVICES_SCRIPT], b: [TONE_TAP_SCRIPT] })
    ;({ a, b } = people)
  }, 180_000)

  afterAll(async () => {
    await people?.close()
  })

  it('the preview lists both cameras and microphones and moves its meter', async () => {
    const { page } = a
    await page.getByTestId('device-preview').waitFor()
    const cameras = await page.getByTestId('device-camera').locator('option').allInnerTexts()
    expect(cameras).toEqual(['System default', 'Stand-in camera (red)', 'Stand-in camera (blue)'])
    const mics = await page.getByTestId('device-microphone').locator('option').allInnerTexts()
    expect(mics).toEqual(['System default', 'Stand-in microphone (440 Hz)', 'Stand-in microphone (1000 Hz)'])
    await waitFor(
      async () => Number(await page.getByTestId('mic-level').getAttribute('data-level')) > 0.3,
      'A: the preview meter shows the 440 Hz tone',
      20_000,
    )
    await screenshot(page, 'preview', SHOTS)
  }, 30_000)

  it('camera and microphone switched mid-call: B sees the other colour and hears the other tone, no rejoin', async () => {
    // One after the other: two joins at once on a busy machine only make each slower.
    await join(a, CHANNEL, UID_A)
    await waitForState(a, 3)
      .then(() => join(b, CHANNEL, UID_B))
      .then(() => waitForState(b, 3))
      .catch(async (error: unknown) => {
        const pages = await Promise.all(
          [a, b].map(async (p) => `${p.name}: ${await p.page.locator('body').innerText()}`),
        )
        throw new Error(`${String(error)}\n${pages.join('\n')}`, { cause: error })
      })
    await waitFor(async () => (await tileFigures(b.page, UID_A)).frames > 10, 'B decodes A', 30_000)
    await waitForColour(b, 'red', 'the default camera')
    await waitForTone(b, TONES_HZ[MICS.low], 'the default microphone')

    const rejoins = await a.watchInvokes(['joinChannel', 'leaveChannel'])
    await a.page.getByTestId('device-settings').click()
    let since = Date.now()
    const pickedAt = await pageNow(a.page)
    await pick(a.page, 'camera', CAMERAS.blue)
    await waitForColour(b, 'blue', 'camera switched')
    const cameraMs = Date.now() - since
    // The new camera starts with a key frame (not the next periodic one, 10 s apart).
    const seenAt = await pageNow(a.page)
    const keys = (await keyFrameTimes(a.page)).filter((at) => at > pickedAt && at <= seenAt)
    expect(keys.length, 'key frames between the pick and B seeing the new camera').toBeGreaterThan(0)
    since = Date.now()
    await pick(a.page, 'microphone', MICS.high)
    await waitForTone(b, TONES_HZ[MICS.high], 'microphone switched')
    // A figure for docs/app.md, not a check: the waits above are upper bounds.
    console.log(
      `B saw the new camera ${cameraMs} ms and heard the new microphone ${Date.now() - since} ms after the pick`,
    )
    await pick(a.page, 'speaker', SPEAKERS.two)
    await waitFor(async () => (await sinkIds(a.page)).includes(SPEAKERS.two), 'A: setSinkId(spk-2)', 20_000)
    await screenshot(a.page, 'call-devices-panel', SHOTS)

    expect(await rejoins()).toEqual([])
    await expect(a.page.getByTestId('connection-state').getAttribute('data-state')).resolves.toBe('3')
  }, 180_000)

  it('the camera in use unplugged: back to the default with a notice; plugged back: offered, and used', async () => {
    const since = Date.now()
    await unplug(a.page, CAMERAS.blue)
    await devicesNotice(a.page).waitFor({ timeout: 20_000 })
    expect(await devicesNotice(a.page).innerText()).toContain('Stand-in camera (blue) was disconnected')
    await expect(a.page.getByTestId('device-camera').inputValue()).resolves.toBe('')
    await waitForColour(b, 'red', 'camera unplugged')
    console.log(`B saw the default camera ${Date.now() - since} ms after the unplug`)
    await screenshot(a.page, 'camera-unplugged', SHOTS)

    await plug(a.page, CAMERAS.blue)
    await devicesNotice(a.page).getByText('Stand-in camera (blue) was connected').waitFor({ timeout: 20_000 })
    await devicesNotice(a.page).getByTestId('notice-action').click()
    await waitForColour(b, 'blue', 'camera plugged back and chosen')
    await expect(a.page.getByTestId('device-camera').inputValue()).resolves.toBe(CAMERAS.blue)
    await expect(a.page.getByTestId('connection-state').getAttribute('data-state')).resolves.toBe('3')
  }, 120_000)
})
