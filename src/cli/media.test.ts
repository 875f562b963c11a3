import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeTestVideo } from '../../e2e/sfu/vp8'
import { requireTool } from '../../e2e/support/tools'
import {
  oggPackets,
  opusPacketDurationUs,
  playTrack,
  readIvf,
  readOggOpus,
  ReceivedMedia,
  type MediaFrame,
  type MediaTrack,
  type PlayerClock,
} from './media'

const dir = mkdtempSync(join(tmpdir(), 'pinhole-cli-media-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('readIvf', () => {
  it('reads the VP8 frames ffmpeg wrote, timestamps in µs, keyframes at the GOP', async () => {
    await encodeTestVideo(dir, 'gop10', 1, 10)
    const track = readIvf(readFileSync(join(dir, 'gop10.ivf')))
    expect(track.frames).toHaveLength(30)
    expect(track.frames.map((f) => f.timestampUs).slice(0, 3)).toEqual([0, 33_333, 66_667])
    expect(track.frames.flatMap((f, i) => (f.keyframe ? [i] : []))).toEqual([0, 10, 20])
    expect(track.durationUs).toBe(1_000_000)
  })

  it('refuses what is not VP8 in IVF', () => {
    expect(() => readIvf(Buffer.from('hello'))).toThrow(/not an IVF file/)
    const header = Buffer.alloc(32)
    header.write('DKIF', 0, 'latin1')
    header.write('VP90', 8, 'latin1')
    expect(() => readIvf(header)).toThrow(/only VP8/)
  })
})

describe('readOggOpus', () => {
  it('reads the Opus packets of an ffmpeg sine, headers skipped, 20 ms each', () => {
    const ffmpeg = requireTool('ffmpeg')
    const path = join(dir, 'sine.ogg')
    execFileSync(ffmpeg, [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1'],
      ...['-c:a', 'libopus', '-y', path],
    ])
    const buf = readFileSync(path)
    const packets = oggPackets(buf)
    expect(packets[0]!.toString('latin1', 0, 8)).toBe('OpusHead')
    const track = readOggOpus(buf)
    expect(track.frames.length).toBe(packets.length - 2)
    // 1 s plus the encoder's padding: 50 or 51 packets of 20 ms.
    expect(track.frames.length).toBeGreaterThanOrEqual(50)
    expect(track.frames.every((f) => opusPacketDurationUs(f.data) === 20_000)).toBe(true)
    expect(track.frames[1]!.timestampUs).toBe(20_000)
    expect(track.durationUs).toBe(track.frames.length * 20_000)
  })

  it('joins packets that span pages (lacing 255) and refuses non-Opus', () => {
    const page = (segments: number[], body: Buffer): Buffer => {
      const header = Buffer.alloc(27)
      header.write('OggS', 0, 'latin1')
      header[26] = segments.length
      return Buffer.concat([header, Buffer.from(segments), body])
    }
    const big = Buffer.alloc(300, 7)
    const stream = Buffer.concat([
      page([255], big.subarray(0, 255)),
      page([45, 3], Buffer.concat([big.subarray(255), Buffer.from([1, 2, 3])])),
    ])
    expect(oggPackets(stream).map((p) => p.length)).toEqual([300, 3])
    expect(() => readOggOpus(stream)).toThrow(/no OpusHead/)
    expect(() => oggPackets(Buffer.from('nope'))).toThrow(/not an Ogg page/)
  })

  it('computes Opus packet durations from the TOC byte', () => {
    expect(opusPacketDurationUs(Uint8Array.of(0xfc))).toBe(20_000) // CELT FB 20 ms, code 0
    expect(opusPacketDurationUs(Uint8Array.of(0xfd))).toBe(40_000) // code 1: two frames
    expect(opusPacketDurationUs(Uint8Array.of(0x1b, 3))).toBe(180_000) // SILK 60 ms, code 3, three frames
  })
})

/** A clock the test advances by hand. */
function fakeClock(): PlayerClock & { advance(ms: number): void } {
  let now = 0
  let timers: { at: number; fn: () => void }[] = []
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const timer = { at: now + ms, fn }
      timers.push(timer)
      return timer
    },
    clearTimeout(handle) {
      timers = timers.filter((t) => t !== handle)
    },
    advance(ms) {
      const until = now + ms
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0]
        if (!due) break
        timers = timers.filter((t) => t !== due)
        now = due.at
        due.fn()
      }
      now = until
    },
  }
}

describe('playTrack', () => {
  const frame = (timestampUs: number, keyframe: boolean): MediaFrame => ({
    data: Uint8Array.of(timestampUs / 1000),
    timestampUs,
    keyframe,
  })
  const track: MediaTrack = {
    frames: [frame(0, true), frame(10_000, false), frame(20_000, true), frame(30_000, false)],
    durationUs: 40_000,
  }

  it('pushes frames at their timestamps and loops with a running clock', () => {
    const clock = fakeClock()
    const pushed: MediaFrame[] = []
    const player = playTrack(track, (f) => pushed.push(f), clock)
    expect(pushed.map((f) => f.timestampUs)).toEqual([0])
    clock.advance(55)
    expect(pushed.map((f) => f.timestampUs)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000])
    expect(pushed.map((f) => f.data[0])).toEqual([0, 10, 20, 30, 0, 10])
    player.stop()
    clock.advance(100)
    expect(player.sent).toBe(6)
  })

  it('jumps to the next keyframe on request, the timestamps still running', () => {
    const clock = fakeClock()
    const pushed: MediaFrame[] = []
    const player = playTrack(track, (f) => pushed.push(f), clock)
    expect(player.requestKeyframe()).toBe(true) // next is frame 1 (delta): jump to frame 2
    clock.advance(10)
    expect(pushed.map((f) => [f.timestampUs, f.keyframe])).toEqual([
      [0, true],
      [10_000, true],
    ])
    player.stop()
    const single = playTrack(
      { frames: [frame(0, true), frame(10_000, false)], durationUs: 20_000 },
      () => {},
      clock,
    )
    expect(single.requestKeyframe()).toBe(false)
    single.stop()
  })
})

describe('ReceivedMedia', () => {
  it('counts frames, keyframes and bytes per uid and kind', () => {
    const received = new ReceivedMedia()
    received.add('video', { uid: 7, data: new Uint8Array(100), keyFrame: true })
    received.add('video', { uid: 7, data: new Uint8Array(50), keyFrame: false })
    received.add('audio', { uid: 7, data: new Uint8Array(80), keyFrame: true })
    expect(received.summary()).toEqual({
      '7': {
        video: { frames: 2, keyframes: 1, bytes: 150 },
        audio: { frames: 1, keyframes: 1, bytes: 80 },
      },
    })
  })
})
