import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OpusPolicy, opusOptions, type OpusSettings } from '../../src/renderer/logic/opusPolicy'
import { requireBrowserTools } from '../browser/browsers'
import { chromiumBaseArgs } from '../support/chromium'
import { requireTool } from '../support/tools'
import { fecCarried } from './audioFigures'
import type { TappedPacket } from './audioTap'

/**
 * Every setting with FEC on that the microphone's policy (src/renderer/logic/opusPolicy.ts) can ask for makes
 * Chromium's own Opus encoder put LBRR in its packets. libopus decides for itself whether the copy fits
 * (opus_encoder.c decide_fec): at 24 kbit/s and an expected loss of 5 % it coded none, so a call whose
 * estimate sat below 64 kbit/s had "FEC on" without FEC (e2e/media/audioLoss.test.ts waited 30 s in vain once).
 * Encoded in the page with WebCodecs, as the renderer does, from a swelling 440 Hz tone (audioLoss.test.ts's).
 */

const FRAME_US = 20_000
const FRAMES = 100
/** audioLoss.test.ts's bar: libopus leaves the copy out after frames its VAD finds weak (68–74 % carried). */
const FEC_SHARE = 0.5

/** Drives the policy through budgets and losses; every distinct FEC-on setting it switches to. */
function fecSettings(): OpusSettings[] {
  const seen = new Map<string, OpusSettings>()
  for (const budget of [2_000_000, 64_000, 50_000, 40_000, 30_000, 10_000]) {
    for (const loss of [0.012, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.25, 0.5]) {
      const policy = new OpusPolicy()
      const settings = policy.update({ bitrateBps: budget, lossFraction: loss }, 0) ?? policy.current
      if (settings.fec) seen.set(JSON.stringify(settings), settings)
    }
  }
  return [...seen.values()]
}

/** In the page: encode FRAMES frames of the tone with these options; each packet's first bytes. */
const ENCODE = `async ({ bitrate, opus, frames, frameUs }) => {
  const packets = []
  const encoder = new AudioEncoder({
    output: (chunk) => {
      const bytes = new Uint8Array(chunk.byteLength)
      chunk.copyTo(bytes)
      packets.push({ at: 0, timestampUs: chunk.timestamp, bytes: bytes.length, head: [...bytes.subarray(0, 24)] })
    },
    error: (error) => { throw error },
  })
  encoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate, opus })
  const n = (48000 * frameUs) / 1e6
  for (let i = 0; i < frames; i++) {
    const samples = new Float32Array(n)
    for (let k = 0; k < n; k++) {
      const t = (i * n + k) / 48000
      samples[k] = 0.5 * Math.sin(2 * Math.PI * 440 * t) * (0.7 + 0.3 * Math.sin(2 * Math.PI * 3 * t))
    }
    const data = new AudioData({ format: 'f32-planar', sampleRate: 48000, numberOfFrames: n,
      numberOfChannels: 1, timestamp: i * frameUs, data: samples })
    encoder.encode(data)
    data.close()
  }
  await encoder.flush()
  encoder.close()
  return packets
}`

describe('Opus FEC settings the policy asks for, in Chromium’s encoder', () => {
  let server: Server
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    requireBrowserTools()
    // WebCodecs needs a secure context: a page from loopback is one.
    server = createServer((_, res) => res.end('<!doctype html><title>opus</title>'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    browser = await chromium.launch({ executablePath: requireTool('chromium'), args: chromiumBaseArgs() })
    page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  })

  afterAll(async () => {
    await browser?.close()
    server?.close()
  })

  it('each FEC-on setting carries LBRR after at least half of the active frames', async () => {
    const settings = fecSettings()
    // The policy's FEC range: 20–32 kbit/s, 2–30 % expected loss.
    expect(new Set(settings.map((s) => s.bitrate)).size).toBeGreaterThanOrEqual(3)
    const results: { setting: string; eligible: number; carried: number }[] = []
    for (const s of settings) {
      const options = {
        bitrate: s.bitrate,
        opus: opusOptions(s, FRAME_US),
        frames: FRAMES,
        frameUs: FRAME_US,
      }
      const packets = (await page.evaluate(`(${ENCODE})(${JSON.stringify(options)})`)) as TappedPacket[]
      // The first packets come before libopus's VAD has settled.
      const counts = fecCarried(packets.slice(5))
      results.push({ setting: `${s.bitrate / 1000} kbit/s at ${s.packetLossPerc} %`, ...counts })
    }
    const line = results.map((r) => `${r.setting}: ${r.carried}/${r.eligible}`).join('; ')
    console.log(`LBRR after active frames: ${line}`)
    for (const r of results) expect(r.eligible, r.setting).toBeGreaterThan(FRAMES / 2)
    const short = results.filter((r) => r.carried < FEC_SHARE * r.eligible).map((r) => r.setting)
    expect(short, `settings with FEC on and too little LBRR (${line})`).toEqual([])
  })
})
