import type { Page } from 'playwright-core'

/** One sighting of a frame number: [code, epoch ms]. */
export type StampSighting = [code: number, atMs: number]

/**
 * Reads the frame number (10 blocks of 40x40 along the top, white = 1: the stamped camera files of
 * bench:media and bench:network) from a <video> or <canvas> every 4 ms and records when each code first
 * shows: on the sender from its preview, on the receiver from what it renders. Plain JS (the node tsconfig
 * has no DOM types); times are epoch ms, comparable across the Chromiums of one machine. The source may be
 * smaller than 640 wide (a lower layer): the stripe is scaled back.
 */
const POLLER = `(selector, key) => {
  const canvas = new OffscreenCanvas(400, 40)
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  const seen = []
  let last = -1
  const timer = setInterval(() => {
    const source = document.querySelector(selector)
    if (!source) return
    const width = source.videoWidth || source.width
    if (!width) return
    const scale = width / 640
    ctx.drawImage(source, 0, 0, 400 * scale, 40 * scale, 0, 0, 400, 40)
    const row = ctx.getImageData(0, 20, 400, 1).data
    let code = 0
    for (let i = 0; i < 10; i++) if (row[(i * 40 + 20) * 4 + 1] > 128) code |= 1 << i
    if (code !== last) {
      last = code
      seen.push([code, performance.timeOrigin + performance.now()])
    }
  }, 4)
  window.__bench = window.__bench || {}
  window.__bench[key] = () => { clearInterval(timer); return seen }
}`

export async function startPoller(page: Page, selector: string, key: string): Promise<void> {
  await page.evaluate(`(${POLLER})(${JSON.stringify(selector)}, ${JSON.stringify(key)})`)
}

export async function stopPoller(page: Page, key: string): Promise<StampSighting[]> {
  return (await page.evaluate(`window.__bench[${JSON.stringify(key)}]()`)) as StampSighting[]
}
