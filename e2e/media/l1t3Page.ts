import type { Page } from 'playwright-core'

/**
 * Chromium's own VP8 encoder with temporal layers (WebCodecs `scalabilityMode: 'L1T3'`) as a live camera
 * for a publisher engine, and Chromium's VP8 decoder as the judge of what subscribers received
 * (e2e/media/layerForwarding.test.ts). The page scripts are plain JS: the node tsconfig has no DOM types.
 */

export interface EncodedChunk {
  data: Uint8Array
  key: boolean
  timestampUs: number
  /** metadata.svc.temporalLayerId; undefined when the encoder gave none. */
  layer: 0 | 1 | 2 | undefined
}

export interface EncoderOptions {
  width: number
  height: number
  bitrate: number
  framerate: number
}

// A drifting patch of fixed noise (motion the encoder can predict), a moving square and text on a changing gradient: enough motion that the
// encoder spends its bitrate on every frame.
const ENCODER_SCRIPT = `(p) => {
  const toBase64 = (bytes) => {
    let s = ''
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i])
    return btoa(s)
  }
  const canvas = new OffscreenCanvas(p.width, p.height)
  const ctx = canvas.getContext('2d')
  const draw = (i) => {
    const g = ctx.createLinearGradient(0, 0, p.width, p.height)
    g.addColorStop(0, 'hsl(' + (i * 3) % 360 + ', 70%, 40%)')
    g.addColorStop(1, 'hsl(' + (i * 3 + 180) % 360 + ', 70%, 60%)')
    ctx.fillStyle = g
    ctx.fillRect(0, 0, p.width, p.height)
    let seed = 7
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    for (let y = 0; y < 120; y += 8)
      for (let x = 0; x < 240; x += 8) {
        ctx.fillStyle = 'rgb(' + Math.floor(rand() * 256) + ',' + Math.floor(rand() * 256) + ',' + Math.floor(rand() * 256) + ')'
        ctx.fillRect(300 + x + (i % 120), 40 + y + Math.round(10 * Math.sin(i / 9)), 8, 8)
      }
    ctx.fillStyle = '#fff'
    ctx.fillRect(20 + (i * 6) % (p.width - 100), 200 + Math.round(40 * Math.sin(i / 5)), 80, 80)
    ctx.fillStyle = '#000'
    ctx.font = '40px sans-serif'
    ctx.fillText('frame ' + i, 30, 330)
  }
  let config = { codec: 'vp8', width: p.width, height: p.height, bitrate: p.bitrate, framerate: p.framerate,
    latencyMode: 'realtime', scalabilityMode: 'L1T3' }
  const encoder = new VideoEncoder({
    output: (chunk, meta) => {
      const bytes = new Uint8Array(chunk.byteLength)
      chunk.copyTo(bytes)
      const layer = meta && meta.svc ? meta.svc.temporalLayerId : -1
      window.__chunk(toBase64(bytes), chunk.type === 'key', chunk.timestamp, layer)
    },
    error: (e) => window.__chunkError(String(e)),
  })
  encoder.configure(config)
  let wantKey = true
  let i = 0
  window.__key = () => { wantKey = true }
  window.__bitrate = (bitrate) => { config = { ...config, bitrate }; encoder.configure(config) }
  window.__stop = () => clearInterval(timer)
  const timer = setInterval(() => {
    draw(i)
    const frame = new VideoFrame(canvas, { timestamp: Math.round(i * 1e6 / p.framerate) })
    encoder.encode(frame, { keyFrame: wantKey })
    wantKey = false
    frame.close()
    i++
  }, 1000 / p.framerate)
}`

/** Starts encoding on `page`; every chunk goes to `onChunk`. */
export async function startL1t3Encoder(
  page: Page,
  options: EncoderOptions,
  onChunk: (chunk: EncodedChunk) => void,
  onError: (message: string) => void,
): Promise<{ keyFrame(): Promise<void>; bitrate(bps: number): Promise<void>; stop(): Promise<void> }> {
  await page.exposeFunction('__chunk', (b64: string, key: boolean, timestampUs: number, layer: number) => {
    const known = layer === 0 || layer === 1 || layer === 2
    onChunk({
      data: new Uint8Array(Buffer.from(b64, 'base64')),
      key,
      timestampUs,
      layer: known ? layer : undefined,
    })
  })
  await page.exposeFunction('__chunkError', onError)
  await page.evaluate(`(${ENCODER_SCRIPT})(${JSON.stringify(options)})`)
  return {
    keyFrame: () => page.evaluate('window.__key()'),
    bitrate: (bps) => page.evaluate(`window.__bitrate(${Math.round(bps)})`),
    stop: () => page.evaluate('window.__stop()'),
  }
}

export interface DecodeResult {
  decoded: number
  errors: string[]
}

const DECODE_SCRIPT = `async (frames) => {
  const errors = []
  let decoded = 0
  const decoder = new VideoDecoder({
    output: (frame) => { decoded++; frame.close() },
    error: (e) => errors.push(String(e)),
  })
  decoder.configure({ codec: 'vp8' })
  for (let i = 0; i < frames.length; i++) {
    if (decoder.state !== 'configured') break
    const bin = atob(frames[i].b64)
    const data = new Uint8Array(bin.length)
    for (let j = 0; j < bin.length; j++) data[j] = bin.charCodeAt(j)
    decoder.decode(new EncodedVideoChunk({ type: frames[i].key ? 'key' : 'delta', timestamp: i * 33333, data }))
  }
  if (decoder.state === 'configured') await decoder.flush().catch((e) => errors.push(String(e)))
  return { decoded, errors }
}`

/** Decodes `frames` (in order, the first a key frame) with Chromium's VideoDecoder on `page`. */
export async function decodeVp8(page: Page, frames: { b64: string; key: boolean }[]): Promise<DecodeResult> {
  return (await page.evaluate(`(${DECODE_SCRIPT})(${JSON.stringify(frames)})`)) as DecodeResult
}
