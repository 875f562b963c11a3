import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OPUS_CLOCK_RATE, OpusReceiver, OpusSender } from '../../src/engine/media/rtp/opus'
import { LocalMediaClock, RemoteMediaClock } from '../../src/engine/media/rtp/sequence'
import { VP8_CLOCK_RATE, Vp8Sender } from '../../src/engine/media/rtp/vp8'
import { Vp8Assembler } from '../../src/engine/media/rtp/vp8Assembler'
import { launchChromium, serveTestPage, type TestPageServer } from '../support/chromium'
import { chunkBytes, loadWebcodecsFixtures } from '../support/webcodecsFixtures'

/**
 * The WebCodecs fixtures (testdata/webcodecs) through our packetizers and back, then into Chromium's own
 * decoders: what our receiver hands to WebCodecs must decode, key frames where WebCodecs said, at the
 * timestamps the sender gave (recovered from the RTP timestamps).
 */

interface Reassembled {
  type: 'key' | 'delta'
  timestamp: number
  bytes: string
}

const { video, audio } = loadWebcodecsFixtures()

function roundTripVideo(): Reassembled[] {
  const sender = new Vp8Sender({ payloadType: 96 })
  const local = new LocalMediaClock(VP8_CLOCK_RATE)
  const remote = new RemoteMediaClock(VP8_CLOCK_RATE)
  const assembler = new Vp8Assembler()
  const out: Reassembled[] = []
  for (const chunk of video.chunks) {
    for (const packet of sender.packetize(chunkBytes(chunk), local.toRtp(chunk.timestamp))) {
      const { sequenceNumber, timestamp, marker } = packet.header
      const { frames } = assembler.push({ sequenceNumber, timestamp, marker, payload: packet.payload }, 0)
      for (const frame of frames) {
        out.push({
          type: frame.keyFrame ? 'key' : 'delta',
          timestamp: remote.toMicroseconds(frame.rtpTimestamp, video.chunks[0]!.timestamp),
          bytes: Buffer.from(frame.data).toString('base64'),
        })
      }
    }
  }
  return out
}

function roundTripAudio(): Reassembled[] {
  const sender = new OpusSender({ payloadType: 111 })
  const local = new LocalMediaClock(OPUS_CLOCK_RATE)
  const remote = new RemoteMediaClock(OPUS_CLOCK_RATE)
  const receiver = new OpusReceiver()
  return audio.chunks.flatMap((chunk) =>
    sender.packetize(chunkBytes(chunk), local.toRtp(chunk.timestamp)).flatMap((packet) => {
      const frame = receiver.push({ ...packet.header, payload: packet.payload })
      if (!frame) return []
      return [
        {
          type: 'key' as const,
          timestamp: remote.toMicroseconds(frame.rtpTimestamp, audio.chunks[0]!.timestamp),
          bytes: Buffer.from(frame.data).toString('base64'),
        },
      ]
    }),
  )
}

// Runs in the page (plain JS: the node tsconfig has no DOM types).
const DECODE_SCRIPT = `async ({ video, audio, width, height, sampleRate, numberOfChannels }) => {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
  const videoFrames = []
  const videoErrors = []
  const decoder = new VideoDecoder({
    output: (f) => {
      videoFrames.push({ timestamp: f.timestamp, codedWidth: f.codedWidth, codedHeight: f.codedHeight,
        displayWidth: f.displayWidth, displayHeight: f.displayHeight })
      f.close()
    },
    error: (e) => videoErrors.push(String(e)),
  })
  decoder.configure({ codec: 'vp8', codedWidth: width, codedHeight: height, optimizeForLatency: true })
  for (const c of video) decoder.decode(new EncodedVideoChunk({ type: c.type, timestamp: c.timestamp, data: bytes(c.bytes) }))
  await decoder.flush().catch((e) => videoErrors.push('flush: ' + String(e)))
  if (decoder.state !== 'closed') decoder.close()

  const audioData = []
  const audioErrors = []
  const audioDecoder = new AudioDecoder({
    output: (d) => {
      audioData.push({ timestamp: d.timestamp, numberOfFrames: d.numberOfFrames, sampleRate: d.sampleRate,
        numberOfChannels: d.numberOfChannels })
      d.close()
    },
    error: (e) => audioErrors.push(String(e)),
  })
  audioDecoder.configure({ codec: 'opus', sampleRate, numberOfChannels })
  for (const c of audio) audioDecoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: c.timestamp, data: bytes(c.bytes) }))
  await audioDecoder.flush().catch((e) => audioErrors.push('flush: ' + String(e)))
  if (audioDecoder.state !== 'closed') audioDecoder.close()
  return { videoFrames, videoErrors, audioData, audioErrors }
}`

const decodeResult = z.object({
  videoFrames: z.array(
    z.object({
      timestamp: z.number(),
      codedWidth: z.number(),
      codedHeight: z.number(),
      displayWidth: z.number(),
      displayHeight: z.number(),
    }),
  ),
  videoErrors: z.array(z.string()),
  audioData: z.array(
    z.object({
      timestamp: z.number(),
      numberOfFrames: z.number(),
      sampleRate: z.number(),
      numberOfChannels: z.number(),
    }),
  ),
  audioErrors: z.array(z.string()),
})

describe('WebCodecs fixtures: packetize → reassemble → Chromium decoders', () => {
  let browser: Browser
  let site: TestPageServer

  beforeAll(async () => {
    site = await serveTestPage()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await site?.close()
  })

  it('the reassembled VP8 and Opus decode without error, 640x360, at the original timestamps', async () => {
    const videoOut = roundTripVideo()
    const audioOut = roundTripAudio()
    expect(videoOut.map((c) => c.type)).toEqual(video.chunks.map((c) => c.type))
    expect(videoOut.map((c) => c.bytes)).toEqual(video.chunks.map((c) => c.bytes))
    expect(audioOut.map((c) => c.bytes)).toEqual(audio.chunks.map((c) => c.bytes))

    const page = await browser.newPage()
    await page.goto(site.url)
    const params = {
      video: videoOut,
      audio: audioOut,
      width: video.width,
      height: video.height,
      sampleRate: audio.sampleRate,
      numberOfChannels: audio.numberOfChannels,
    }
    const result = decodeResult.parse(await page.evaluate(`(${DECODE_SCRIPT})(${JSON.stringify(params)})`))
    await page.close()

    expect(result.videoErrors).toEqual([])
    expect(result.videoFrames).toHaveLength(video.chunks.length)
    for (const frame of result.videoFrames) {
      expect(frame).toMatchObject({
        codedWidth: 640,
        codedHeight: 360,
        displayWidth: 640,
        displayHeight: 360,
      })
    }
    // 90 kHz RTP timestamps back to microseconds: the encoder's own timestamps, to the microsecond.
    expect(result.videoFrames.map((f) => f.timestamp)).toEqual(video.chunks.map((c) => c.timestamp))

    expect(result.audioErrors).toEqual([])
    expect(result.audioData).toHaveLength(audio.chunks.length)
    for (const data of result.audioData) {
      expect(data).toMatchObject({ sampleRate: 48_000, numberOfChannels: 2, numberOfFrames: 960 })
    }
    // 48 kHz ticks are 20.83 µs: WebCodecs' rounded microseconds come back within one microsecond.
    result.audioData.forEach((data, i) => {
      expect(Math.abs(data.timestamp - audio.chunks[i]!.timestamp)).toBeLessThanOrEqual(1)
    })
  })
})
