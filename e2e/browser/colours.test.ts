import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../support/tools'
import { screenshot } from './artifacts'
import { launchParticipant, requireBrowserTools } from './browsers'
import { buildRenderer } from './buildRenderer'
import { fakeBridge, LOOPBACK_UID } from './fakeBridge'
import { makeColourBarMedia } from './fakeMedia'
import { coloursAt, sizedColoursAt, tileFigures, type Rgb } from './pageProbe'
import { serveDir } from './staticServer'

/**
 * Remote colours against the sender's own preview: the built renderer in Chromium with colour bars as its
 * camera, every encoded frame sent back as a remote user's (fakeBridge.ts). VP8 carries no colour space, so
 * this is where an encoder and a decoder that disagree on BT.601 / BT.709 or limited / full range show
 * (green 190 drawn as 161). Also cameras whose frames are not BT.601 YUV, which the sender converts.
 */

/** The centres of the seven top bars (grey, yellow, cyan, green, magenta, red, blue) of 640x360 smptebars. */
const BAR_CENTRES: [number, number][] = Array.from({ length: 7 }, (_, i) => [
  Math.round((i + 0.5) * (640 / 7)),
  100,
])
/** The 75 % bars in RGB: 191 where a bar has the channel, 0 where not. */
const BARS: Rgb[] = [
  [191, 191, 191],
  [191, 191, 0],
  [0, 191, 191],
  [0, 191, 0],
  [191, 0, 191],
  [191, 0, 0],
  [0, 0, 191],
]
/** Per channel: a still picture through VP8 at 800 kbit/s came back within 3 steps at the bar centres. */
const TOLERANCE = 8

/**
 * An init script that wraps getUserMedia's camera in a MediaStreamTrackGenerator whose frames are
 * `convert(frame)` (async, plain JS): a camera that delivers other frames than Chromium's fake one.
 */
function cameraScript(convert: string): string {
  return `(() => {
    const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices)
    const convert = ${convert}
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      const stream = await open(constraints)
      const [track] = stream.getVideoTracks()
      if (!track) return stream
      const generator = new MediaStreamTrackGenerator({ kind: 'video' })
      const stop = generator.stop.bind(generator)
      generator.stop = () => { track.stop(); stop() }
      new MediaStreamTrackProcessor({ track }).readable
        .pipeThrough(new TransformStream({ async transform(frame, out) { out.enqueue(await convert(frame)); frame.close() } }))
        .pipeTo(generator.writable).catch(() => undefined)
      return new MediaStream([generator])
    }
  })()`
}

/** RGB frames, as a virtual camera or a canvas source gives them. */
const RGB_CAMERA = cameraScript(`async (frame) => {
  const canvas = new OffscreenCanvas(frame.displayWidth, frame.displayHeight)
  canvas.getContext('2d').drawImage(frame, 0, 0)
  return new VideoFrame(canvas, { timestamp: frame.timestamp })
}`)

/** The same YUV bytes labelled BT.709, as macOS cameras label theirs (the preview then shows green 161). */
const BT709_CAMERA = cameraScript(`async (frame) => {
  const data = new Uint8Array(frame.allocationSize())
  const layout = await frame.copyTo(data)
  return new VideoFrame(data, {
    format: frame.format, codedWidth: frame.visibleRect.width, codedHeight: frame.visibleRect.height,
    timestamp: frame.timestamp, layout,
    colorSpace: { matrix: 'bt709', primaries: 'bt709', transfer: 'bt709', fullRange: false },
  })
}`)

/** Where a bar has a channel it is bright, where not dark: the picture is the bars, whatever the matrix. */
function expectBars(samples: Rgb[], what: string): void {
  samples.forEach((sample, bar) =>
    sample.forEach((value, c) =>
      expect(BARS[bar]?.[c] ? value > 120 : value < 60, `${what} bar ${bar}: ${sample.join(',')}`).toBe(true),
    ),
  )
}

/** The largest difference of one channel of one bar between two readings (NaN if one lacks a bar). */
function worstDifference(a: Rgb[], b: Rgb[]): number {
  return Math.max(...a.flatMap((sample, bar) => sample.map((v, c) => Math.abs(v - (b[bar]?.[c] ?? NaN)))))
}

function expectSameColours(remote: Rgb[], local: Rgb[]): void {
  const readings = `remote ${JSON.stringify(remote)} vs local preview ${JSON.stringify(local)}`
  expect(worstDifference(remote, local), readings).toBeLessThanOrEqual(TOLERANCE)
}

describe('remote colours match the sender (Chromium, loopback bridge)', () => {
  let dir: string
  let site: Awaited<ReturnType<typeof serveDir>>
  let browser: Browser

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(join(tmpdir(), 'pinhole-colours-'))
    const media = await makeColourBarMedia(dir, 440)
    await buildRenderer(join(dir, 'renderer'))
    site = await serveDir(join(dir, 'renderer'))
    browser = await launchParticipant(media)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await site?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /**
   * Joins with `camera` (an init script, or Chromium's fake camera) and reads both tiles at the bars; with
   * `sendTargetBps`, after the host has sent that target and the remote tile has become `size` wide.
   */
  async function callColours(
    name: string,
    camera?: string,
    sendTargetBps?: number,
    size = 640,
  ): Promise<{ local: Rgb[]; remote: Rgb[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    try {
      page.on('pageerror', (error) => console.error('page error:', error))
      if (camera) await page.addInitScript(camera)
      await page.addInitScript(fakeBridge())
      await page.goto(site.url)
      await page.getByTestId('region-local').getByText('reachable').waitFor()
      await page.getByTestId('join-channel').fill('colours')
      await page.getByTestId('join-uid').fill('4242')
      await page.getByTestId('join-button').click()
      await page.getByTestId('connection-state').and(page.locator('[data-state="3"]')).waitFor()
      // A second of frames: the still picture's quality has settled after the key frame.
      await waitFor(async () => (await tileFigures(page, LOOPBACK_UID)).frames > 30, 'decoded frames', 15_000)
      const remote = `[data-testid="remote-video-${LOOPBACK_UID}"]`
      if (sendTargetBps) {
        await page.evaluate(
          `window.__fake.down({ kind: 'sendTarget', bitrateBps: ${sendTargetBps}, lossFraction: 0 })`,
        )
        const width = (): Promise<unknown> => page.evaluate(`document.querySelector('${remote}').width`)
        await waitFor(async () => (await width()) === size, `a ${size} px wide remote tile`, 10_000)
        const frames = (await tileFigures(page, LOOPBACK_UID)).frames
        // Up to a second at the new size (its quality settles after the key frame), read at that size: the
        // send ladder may go back up to 640x360 on this still picture's small output ("back up on
        // content", docs/media.md), so each reading takes the tile's width and pixels together and the
        // last one still at `size` counts.
        const scaled = BAR_CENTRES.map(([x, y]): [number, number] => [
          Math.round((x * size) / 640),
          Math.round((y * size) / 640),
        ])
        let reading: Rgb[] | undefined
        await waitFor(
          async () => {
            const now = await sizedColoursAt(page, remote, scaled)
            if (now.width === size) reading = now.colours
            const settled = (await tileFigures(page, LOOPBACK_UID)).frames > frames + 15
            return reading !== undefined && (settled || now.width !== size)
          },
          'frames',
          10_000,
        )
        await screenshot(page, `colours-${name}`)
        return {
          local: await coloursAt(page, '[data-testid="local-preview"]', BAR_CENTRES),
          remote: reading!,
        }
      }
      await screenshot(page, `colours-${name}`)
      const scale = size / 640
      return {
        local: await coloursAt(page, '[data-testid="local-preview"]', BAR_CENTRES),
        remote: await coloursAt(
          page,
          remote,
          BAR_CENTRES.map(([x, y]) => [Math.round(x * scale), Math.round(y * scale)]),
        ),
      }
    } finally {
      await page.close()
    }
  }

  it('shows the camera (BT.601 YUV, as Chromium captures) in its own colours', async () => {
    const { local, remote } = await callColours('camera')
    // The preview is the bars as made (75 %: 191), so it is a true reference.
    expect(worstDifference(local, BARS), `preview ${JSON.stringify(local)}`).toBeLessThanOrEqual(8)
    expectSameColours(remote, local)
  })

  it('sends 320x180 on a low send target in the same colours (the encoder scales the BT.601 frames)', async () => {
    const { local, remote } = await callColours('camera-320x180', undefined, 150_000, 320)
    expectSameColours(remote, local)
  })

  it('sends 320x180 from a camera labelling its frames BT.709 in its preview’s colours (the canvas path)', async () => {
    const { local, remote } = await callColours('bt709-camera-320x180', BT709_CAMERA, 150_000, 320)
    expectBars(local, 'preview')
    expectSameColours(remote, local)
  })

  it('shows a camera that gives RGB frames in its own colours', async () => {
    const { local, remote } = await callColours('rgb-camera', RGB_CAMERA)
    expectBars(local, 'preview')
    expectSameColours(remote, local)
  })

  it('shows a camera that labels its frames BT.709 as its preview does', async () => {
    const { local, remote } = await callColours('bt709-camera', BT709_CAMERA)
    expectBars(local, 'preview')
    expectSameColours(remote, local)
  })
})
