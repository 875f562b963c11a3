import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { requireTool } from '../support/tools'

const run = promisify(execFile)

/** One participant's fake camera and microphone, as Chromium's --use-file-for-fake-*-capture reads them. */
export interface FakeMedia {
  video: string
  audio: string
  /** The dominant colour of the video, to check a tile shows the sender's pattern; `bars`: colour bars. */
  color: SolidColor | 'bars'
}

type SolidColor = 'red' | 'blue'

const COLORS: Record<SolidColor, string> = { red: '0xd02020', blue: '0x2040d0' }

const QUIET = ['-hide_banner', '-loglevel', 'error', '-y']

/**
 * 640x360 30 fps, 2 s (Chromium loops the file): a solid colour with a white square moving across it, so
 * pixels change between frames; and a pulsing tone (Debian ffmpeg, lavfi sources: no input files).
 */
export async function makeFakeMedia(dir: string, color: SolidColor, toneHz: number): Promise<FakeMedia> {
  const video = join(dir, `${color}.y4m`)
  await run(requireTool('ffmpeg'), [
    ...QUIET,
    ...['-f', 'lavfi', '-i', `color=c=${COLORS[color]}:s=640x360:r=30:d=2`],
    ...['-f', 'lavfi', '-i', 'color=c=white:s=80x80:r=30:d=2'],
    // overlay knows the time (drawbox's `t` is its thickness): 240 px/s, 8 px a frame.
    ...['-filter_complex', "[0][1]overlay=x='mod(t*240,560)':y=140:shortest=1,format=yuv420p"],
    video,
  ])
  return { video, audio: await makeTone(dir, color, toneHz), color }
}

/**
 * 640x360 SMPTE colour bars (still; ffmpeg writes them as BT.601 limited-range YUV, what Chromium assumes for
 * a camera frame): seven 75 % bars across the top two thirds, grey, yellow, cyan, green, magenta, red, blue.
 */
export async function makeColourBarMedia(dir: string, toneHz: number): Promise<FakeMedia> {
  const video = join(dir, 'bars.y4m')
  await run(requireTool('ffmpeg'), [
    ...QUIET,
    ...['-f', 'lavfi', '-i', 'smptebars=size=640x360:rate=30:duration=2'],
    ...['-pix_fmt', 'yuv420p'],
    video,
  ])
  return { video, audio: await makeTone(dir, 'bars', toneHz), color: 'bars' }
}

async function makeTone(dir: string, name: string, toneHz: number): Promise<string> {
  const audio = join(dir, `${name}.wav`)
  await run(requireTool('ffmpeg'), [
    ...QUIET,
    // A tone that swells and fades 3 times a second: steady tones are what noise suppression removes.
    ...['-f', 'lavfi', '-i', `aevalsrc='0.6*sin(2*PI*${toneHz}*t)*(0.55+0.45*sin(2*PI*3*t))':s=48000:d=2`],
    ...['-ac', '1'],
    audio,
  ])
  return audio
}

/**
 * A microphone that hears nothing: 2 s of digital silence (48 kHz mono WAV), for a participant that must
 * not be taken for a speaker (e2e/meeting/layouts.test.ts).
 */
export async function makeSilence(dir: string, name: string): Promise<string> {
  const audio = join(dir, `${name}-silence.wav`)
  await run(requireTool('ffmpeg'), [
    ...QUIET,
    ...['-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '2'],
    audio,
  ])
  return audio
}
