import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeFakeMedia, type FakeMedia } from '../../e2e/browser/fakeMedia'
import { requireTool } from '../../e2e/support/tools'

const run = promisify(execFile)

/** The fake camera file loops every this many seconds (frame numbers 0..239 fit the 10-bit stamp). */
export const LOOP_SECONDS = 8
/** A received code is matched with a sighting at the sender no older than half a loop. */
export const MATCH_MAX_AGE_MS = (LOOP_SECONDS * 1000) / 2

/**
 * One participant's camera and microphone for bench:network: a moving test pattern with temporal noise (so
 * the encoder needs its whole bitrate, as a real camera does: a still picture would send a few kbit/s and a
 * rate cap would never bite), 640x360 at 30 fps, with the frame number as 10 black/white 40x40 blocks on a
 * black stripe along the top (read back by pageScripts.ts's poller). The tone is e2e/browser's.
 */
export async function benchMedia(dir: string, who: 'a' | 'b'): Promise<FakeMedia> {
  const base = await makeFakeMedia(dir, who === 'a' ? 'red' : 'blue', who === 'a' ? 440 : 660)
  const video = join(dir, `bench-${who}.y4m`)
  const bit = `255*gt(bitand(N,pow(2,floor(X/40))),0)`
  const stamp = `geq=lum='if(lt(Y,40),if(lt(X,400),${bit},16),lum(X,Y))':cb='if(lt(Y,40),128,cb(X,Y))':cr='if(lt(Y,40),128,cr(X,Y))'`
  await run(requireTool('ffmpeg'), [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=s=640x360:r=30:d=${LOOP_SECONDS}`],
    ...['-vf', `${who === 'b' ? 'hflip,' : ''}noise=alls=8:allf=t,format=yuv444p,${stamp},format=yuv420p`],
    video,
  ])
  return { ...base, video }
}
