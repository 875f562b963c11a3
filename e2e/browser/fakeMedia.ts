import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { requireTool } from '../support/tools'

const run = promisify(execFile)

/** One participant's fake camera and microphone, as Chromium's --use-file-for-fake-*-capture reads them. */
export interface FakeMedia {
  video: string
  audio: string
  /** The dominant colour of the video, to check a tile shows the sender's pattern. */
  color: 'red' | 'blue'
}

const COLORS: Record<FakeMedia['color'], string> = { red: '0xd02020', blue: '0x2040d0' }

/**
 * 640x360 30 fps, 2 s (Chromium loops the file): a solid colour with a white square moving across it, so
 * pixels change between frames; and a pulsing tone (Debian ffmpeg, lavfi sources: no input files).
 */
export async function makeFakeMedia(
  dir: string,
  color: FakeMedia['color'],
  toneHz: number,
): Promise<FakeMedia> {
  const ffmpeg = requireTool('ffmpeg')
  const video = join(dir, `${color}.y4m`)
  const audio = join(dir, `${color}.wav`)
  const quiet = ['-hide_banner', '-loglevel', 'error', '-y']
  await run(ffmpeg, [
    ...quiet,
    ...['-f', 'lavfi', '-i', `color=c=${COLORS[color]}:s=640x360:r=30:d=2`],
    ...['-f', 'lavfi', '-i', 'color=c=white:s=80x80:r=30:d=2'],
    // overlay knows the time (drawbox's `t` is its thickness): 240 px/s, 8 px a frame.
    ...['-filter_complex', "[0][1]overlay=x='mod(t*240,560)':y=140:shortest=1,format=yuv420p"],
    video,
  ])
  await run(ffmpeg, [
    ...quiet,
    // A tone that swells and fades 3 times a second: steady tones are what noise suppression removes.
    ...['-f', 'lavfi', '-i', `aevalsrc='0.6*sin(2*PI*${toneHz}*t)*(0.55+0.45*sin(2*PI*3*t))':s=48000:d=2`],
    ...['-ac', '1'],
    audio,
  ])
  return { video, audio, color }
}
