import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { launchChromium, serveTestPage } from './chromium'

/**
 * Encoded chunks from Chromium's WebCodecs, saved as fixtures for the RTP packetizer tests
 * (testdata/webcodecs). Run `npx tsx e2e/support/webcodecsFixtures.ts` from the repo root to remake them:
 * ~1 s of 640x360 VP8 (realtime, key frames at 0 and mid-stream) drawn on a canvas, and ~1 s of Opus
 * rendered from an OscillatorNode, each chunk as {type, timestamp, duration, bytes (base64)}.
 */

export const FIXTURE_DIR = 'testdata/webcodecs'
export const VIDEO_FIXTURE = 'vp8-640x360.json'
export const AUDIO_FIXTURE = 'opus-48k-stereo.json'

const chunkSchema = z.object({
  type: z.enum(['key', 'delta']),
  /** Microseconds, as WebCodecs gives them. */
  timestamp: z.number().int(),
  duration: z.number().int().nullable(),
  bytes: z.string(),
})

export const videoFixtureSchema = z.object({
  codec: z.literal('vp8'),
  width: z.number().int(),
  height: z.number().int(),
  framerate: z.number(),
  bitrate: z.number(),
  generatedBy: z.string(),
  userAgent: z.string(),
  chunks: z.array(chunkSchema),
})

export const audioFixtureSchema = z.object({
  codec: z.literal('opus'),
  sampleRate: z.number().int(),
  numberOfChannels: z.number().int(),
  bitrate: z.number(),
  generatedBy: z.string(),
  userAgent: z.string(),
  chunks: z.array(chunkSchema),
})

export type FixtureChunk = z.infer<typeof chunkSchema>
export type VideoFixture = z.infer<typeof videoFixtureSchema>
export type AudioFixture = z.infer<typeof audioFixtureSchema>

/** The fixtures, read relative to `root` (the repo root: process.cwd() under vitest). */
export function loadWebcodecsFixtures(root: string = process.cwd()): {
  video: VideoFixture
  audio: AudioFixture
} {
  const read = (name: string): unknown => JSON.parse(readFileSync(join(root, FIXTURE_DIR, name), 'utf8'))
  return {
    video: videoFixtureSchema.parse(read(VIDEO_FIXTURE)),
    audio: audioFixtureSchema.parse(read(AUDIO_FIXTURE)),
  }
}

export function chunkBytes(chunk: FixtureChunk): Uint8Array {
  return new Uint8Array(Buffer.from(chunk.bytes, 'base64'))
}

const GENERATOR = 'npx tsx e2e/support/webcodecsFixtures.ts'
const WIDTH = 640
const HEIGHT = 360
const FRAMES = 30
const FRAMERATE = 30
const VIDEO_BITRATE = 800_000
/** Forced key frames besides the first. */
const MID_KEY_FRAME = 15
const SAMPLE_RATE = 48_000
const CHANNELS = 2
const AUDIO_BITRATE = 32_000

// Runs in the page (plain JS: the node tsconfig has no DOM types).
const ENCODE_SCRIPT = `async (p) => {
  const toBase64 = (buffer) => {
    let s = ''
    const bytes = new Uint8Array(buffer)
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i])
    return btoa(s)
  }
  const save = (chunk) => {
    const bytes = new Uint8Array(chunk.byteLength)
    chunk.copyTo(bytes)
    return { type: chunk.type, timestamp: chunk.timestamp, duration: chunk.duration ?? null, bytes: toBase64(bytes) }
  }

  const video = []
  let videoError = null
  const encoder = new VideoEncoder({ output: (c) => video.push(save(c)), error: (e) => { videoError = String(e) } })
  const videoConfig = { codec: 'vp8', width: p.width, height: p.height, bitrate: p.videoBitrate,
    framerate: p.framerate, latencyMode: 'realtime' }
  const videoSupport = await VideoEncoder.isConfigSupported(videoConfig)
  if (!videoSupport.supported) throw new Error('VP8 encoding not supported')
  encoder.configure(videoConfig)
  const canvas = new OffscreenCanvas(p.width, p.height)
  const ctx = canvas.getContext('2d')
  for (let i = 0; i < p.frames; i++) {
    const g = ctx.createLinearGradient(0, 0, p.width, p.height)
    g.addColorStop(0, 'hsl(' + (i * 12) % 360 + ', 70%, 40%)')
    g.addColorStop(1, 'hsl(' + (i * 12 + 180) % 360 + ', 70%, 60%)')
    ctx.fillStyle = g
    ctx.fillRect(0, 0, p.width, p.height)
    // A textured patch (deterministic noise, drifting): key frames span many RTP packets.
    let seed = 7
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    for (let y = 0; y < 160; y += 8)
      for (let x = 0; x < 320; x += 8) {
        ctx.fillStyle = 'rgb(' + Math.floor(rand() * 256) + ',' + Math.floor(rand() * 256) + ',' + Math.floor(rand() * 256) + ')'
        ctx.fillRect(300 + x + i, 180 + y - 160, 8, 8)
      }
    ctx.fillStyle = '#fff'
    ctx.fillRect(20 + i * 18, 60 + Math.round(40 * Math.sin(i / 3)), 80, 80)
    ctx.fillStyle = '#000'
    ctx.font = '48px sans-serif'
    ctx.fillText('pinhole frame ' + i, 40, 300)
    const frame = new VideoFrame(canvas, { timestamp: Math.round(i * 1e6 / p.framerate), duration: Math.round(1e6 / p.framerate) })
    encoder.encode(frame, { keyFrame: i === 0 || i === p.midKeyFrame })
    frame.close()
  }
  await encoder.flush()
  encoder.close()
  if (videoError) throw new Error(videoError)

  const offline = new OfflineAudioContext(p.channels, p.sampleRate, p.sampleRate)
  const osc = new OscillatorNode(offline, { type: 'sawtooth', frequency: 220 })
  osc.frequency.linearRampToValueAtTime(880, 1)
  const gain = new GainNode(offline, { gain: 0.3 })
  osc.connect(gain).connect(offline.destination)
  osc.start()
  const rendered = await offline.startRendering()
  const audio = []
  let audioError = null
  const audioEncoder = new AudioEncoder({ output: (c) => audio.push(save(c)), error: (e) => { audioError = String(e) } })
  audioEncoder.configure({ codec: 'opus', sampleRate: p.sampleRate, numberOfChannels: p.channels, bitrate: p.audioBitrate })
  const block = 480
  for (let start = 0; start < rendered.length; start += block) {
    const n = Math.min(block, rendered.length - start)
    const planar = new Float32Array(n * p.channels)
    for (let c = 0; c < p.channels; c++) planar.set(rendered.getChannelData(c).subarray(start, start + n), c * n)
    const data = new AudioData({ format: 'f32-planar', sampleRate: p.sampleRate, numberOfFrames: n,
      numberOfChannels: p.channels, timestamp: Math.round(start * 1e6 / p.sampleRate), data: planar })
    audioEncoder.encode(data)
    data.close()
  }
  await audioEncoder.flush()
  audioEncoder.close()
  if (audioError) throw new Error(audioError)
  return { video, audio, userAgent: navigator.userAgent }
}`

async function generate(root: string): Promise<void> {
  const site = await serveTestPage()
  const browser = await launchChromium()
  try {
    const page = await browser.newPage()
    await page.goto(site.url)
    const params = {
      width: WIDTH,
      height: HEIGHT,
      frames: FRAMES,
      framerate: FRAMERATE,
      videoBitrate: VIDEO_BITRATE,
      midKeyFrame: MID_KEY_FRAME,
      sampleRate: SAMPLE_RATE,
      channels: CHANNELS,
      audioBitrate: AUDIO_BITRATE,
    }
    const raw = await page.evaluate(`(${ENCODE_SCRIPT})(${JSON.stringify(params)})`)
    const result = z
      .object({ video: z.array(chunkSchema), audio: z.array(chunkSchema), userAgent: z.string() })
      .parse(raw)
    const video: VideoFixture = {
      codec: 'vp8',
      width: WIDTH,
      height: HEIGHT,
      framerate: FRAMERATE,
      bitrate: VIDEO_BITRATE,
      generatedBy: GENERATOR,
      userAgent: result.userAgent,
      chunks: result.video,
    }
    const audio: AudioFixture = {
      codec: 'opus',
      sampleRate: SAMPLE_RATE,
      numberOfChannels: CHANNELS,
      bitrate: AUDIO_BITRATE,
      generatedBy: GENERATOR,
      userAgent: result.userAgent,
      chunks: result.audio,
    }
    const dir = join(root, FIXTURE_DIR)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, VIDEO_FIXTURE), `${JSON.stringify(video, null, 1)}\n`)
    writeFileSync(join(dir, AUDIO_FIXTURE), `${JSON.stringify(audio, null, 1)}\n`)
    const keys = video.chunks.flatMap((c, i) => (c.type === 'key' ? [i] : []))
    console.log(
      `VP8: ${video.chunks.length} chunks, key frames at ${keys.join(', ')}; ` +
        `Opus: ${audio.chunks.length} chunks; written to ${dir}`,
    )
  } finally {
    await browser.close()
    await site.close()
  }
}

const invoked = process.argv[1]
if (invoked !== undefined && import.meta.url === pathToFileURL(resolve(invoked)).href) {
  await generate(process.cwd())
}
