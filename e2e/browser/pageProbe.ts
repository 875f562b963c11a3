import type { Page } from 'playwright-core'

/** What the test reads from the page: the UI's data attributes and the remote canvas's pixels. */

export interface TileFigures {
  frames: number
  fps: number
  level: number
}

export async function tileFigures(page: Page, uid: number): Promise<TileFigures> {
  const tile = page.locator(`[data-testid="remote-tile"][data-uid="${uid}"]`)
  const read = async (name: string): Promise<number> => Number((await tile.getAttribute(name)) ?? 'NaN')
  return {
    frames: await read('data-frames'),
    fps: await read('data-fps'),
    level: await read('data-audio-level'),
  }
}

export interface CanvasSample {
  r: number
  g: number
  b: number
  /** A hash of sampled pixels: differs between two frames of moving video. */
  hash: number
  width: number
  height: number
}

/** Mean colour and a pixel hash of a remote tile's canvas (plain JS: the node tsconfig has no DOM types). */
export function sampleCanvas(page: Page, uid: number): Promise<CanvasSample> {
  return page.evaluate(`(() => {
    const canvas = document.querySelector('[data-testid="remote-video-${uid}"]')
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
    let r = 0, g = 0, b = 0, n = 0, hash = 0
    for (let i = 0; i < data.length; i += 4 * 61) {
      r += data[i]; g += data[i + 1]; b += data[i + 2]; n++
      hash = (Math.imul(hash, 31) + data[i] + data[i + 1] * 7 + data[i + 2] * 13) >>> 0
    }
    return { r: r / n, g: g / n, b: b / n, hash, width: canvas.width, height: canvas.height }
  })()`)
}

/** The dominant channel of a sample, to compare with the sender's fake video colour. */
export function dominantColor(sample: CanvasSample): 'red' | 'blue' | 'other' {
  if (sample.r > sample.b * 1.5 && sample.r > sample.g * 1.5) return 'red'
  if (sample.b > sample.r * 1.5 && sample.b > sample.g * 1.2) return 'blue'
  return 'other'
}

/** The timeline, oldest first. */
export async function timelineEntries(page: Page): Promise<{ state: number; reason: number }[]> {
  const entries = page.locator('[data-testid="timeline-entry"]')
  const out: { state: number; reason: number }[] = []
  for (const entry of await entries.all()) {
    out.push({
      state: Number(await entry.getAttribute('data-state')),
      reason: Number(await entry.getAttribute('data-reason')),
    })
  }
  return out.reverse() // the panel lists the newest first
}

export type Rgb = [number, number, number]

/**
 * The mean colour of a 9x9 patch around each point of a `<video>` or `<canvas>`, drawn at its own size (a
 * video element's frame as Chromium renders it, a canvas's pixels as they are). Plain JS, as above.
 */
export async function coloursAt(page: Page, selector: string, points: [number, number][]): Promise<Rgb[]> {
  return (await sizedColoursAt(page, selector, points)).colours
}

/** coloursAt and the source's width read in one go (the page cannot change size between the two). */
export function sizedColoursAt(
  page: Page,
  selector: string,
  points: [number, number][],
): Promise<{ width: number; colours: Rgb[] }> {
  return page.evaluate(`(() => {
    const source = document.querySelector(${JSON.stringify(selector)})
    const width = source.videoWidth || source.width
    const height = source.videoHeight || source.height
    const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true })
    context.drawImage(source, 0, 0)
    const colours = ${JSON.stringify(points)}.map(([x, y]) => {
      const data = context.getImageData(x - 4, y - 4, 9, 9).data
      const sum = [0, 0, 0]
      for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += data[i + c]
      return sum.map((s) => Math.round(s / 81))
    })
    return { width, colours }
  })()`)
}

/**
 * How far the page is wider than the window (0: nothing cut off or scrolled sideways), and the outermost
 * elements that stick out. Polled for up to 3 s: after a resize the stage lays its tiles out again from a
 * ResizeObserver, a frame or two later.
 */
export async function sidewaysOverflow(page: Page): Promise<{ px: number; culprits: string }> {
  const read = (): Promise<{ px: number; culprits: string }> =>
    page.evaluate(`(() => {
      const px = document.documentElement.scrollWidth - window.innerWidth
      const out = [...document.querySelectorAll('body *')].filter(
        (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 &&
          !(el.parentElement && el.parentElement.getBoundingClientRect().right > window.innerWidth + 0.5),
      )
      const name = (el) => el.getAttribute('data-testid') || el.tagName.toLowerCase() + '.' + el.className
      return { px, culprits: out.slice(0, 5).map(name).join(', ') }
    })()`)
  let last = await read()
  const deadline = Date.now() + 3000
  while (last.px > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    last = await read()
  }
  return last
}
