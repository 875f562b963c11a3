import { execFile, spawn } from 'node:child_process'
import { join as joinPath } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import type { LocalStackInfo } from '../../src/app'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { join, type Participant } from '../browser/participant'
import type { Rgb } from '../browser/pageProbe'
import { exited, processCpuMicros } from '../support/process'
import { requireTool, sleep } from '../support/tools'

const run = promisify(execFile)

/**
 * Extra participants without a browser: werift clients of the test harness (publishersProcess.ts) that join
 * the browser host's conference server directly with `subscribe: false` — they receive nothing — and
 * publish a solid colour (VP8) and a tone or silence (Opus), each under a display name. A call of nine
 * costs one Chromium and eight light senders in a process of their own.
 */

/** One publisher: who it is, the colour its video shows and whether its microphone plays a tone. */
export interface Publisher {
  uid: number
  displayName: string
  colour: Rgb
  tone: boolean
}

/** What publishersProcess.ts gets per publisher (one JSON argument). */
export interface PublisherRun {
  url: string
  token: string
  channel: string
  uid: number
  displayName: string
  /** VP8 in IVF, looped. */
  video: string
  /** Opus in Ogg, looped. */
  audio: string
}

export interface Publishers {
  /** Resolves when every publisher is connected; rejects with the report when one failed for good. */
  connected(timeoutMs: number): Promise<void>
  /** The process's CPU time so far (user + system, µs), for the test's log. */
  cpuMicros(): Promise<number>
  /** Leave (SIGINT to the process) and wait for it to end. */
  stop(): Promise<void>
  /** Each publisher's state and messages, for a failure message. */
  report(): string
}

const PROCESS_SCRIPT = joinPath(import.meta.dirname, 'publishersProcess.ts')

const hex = ([r, g, b]: Rgb): string => [r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')

/**
 * One 2 s VP8 clip per colour (320x180, 15 fps, a key frame a second: cheap to decode, and a PLI is answered
 * within a second) and two 2 s Opus clips, a 440 Hz tone and digital silence (20 ms frames).
 */
async function makeMedia(
  dir: string,
  publishers: readonly Publisher[],
): Promise<Map<number, PublisherRun['video' | 'audio'][]>> {
  const ffmpeg = requireTool('ffmpeg')
  const opus = ['-ac', '1', '-c:a', 'libopus', '-b:a', '24k', '-frame_duration', '20', '-t', '2']
  const tone = joinPath(dir, 'tone.ogg')
  const silence = joinPath(dir, 'silence.ogg')
  const videos = publishers.map((p) => joinPath(dir, `colour-${hex(p.colour)}.ivf`))
  await Promise.all([
    run(ffmpeg, [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      ...opus,
      '-y',
      tone,
    ]),
    run(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', ...opus, '-y', silence]),
    ...publishers.map((p, i) =>
      run(ffmpeg, [
        ...['-v', 'error', '-f', 'lavfi', '-i', `color=c=0x${hex(p.colour)}:size=320x180:rate=15`, '-t', '2'],
        ...['-c:v', 'libvpx', '-threads', '1', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '100k'],
        ...['-g', '15', '-keyint_min', '15', '-auto-alt-ref', '0', '-f', 'ivf', '-y', videos[i]!],
      ]),
    ),
  ])
  return new Map(publishers.map((p, i) => [p.uid, [videos[i]!, p.tone ? tone : silence]]))
}

/** Encodes the test media into `dir`, mints each publisher's token and starts the process. */
export async function startPublishers(
  stack: LocalStackInfo,
  channel: string,
  publishers: readonly Publisher[],
  dir: string,
): Promise<Publishers> {
  const media = await makeMedia(dir, publishers)
  const runs: PublisherRun[] = await Promise.all(
    publishers.map(async ({ uid, displayName }) => ({
      url: stack.sfuSignalUrl,
      token: await mintJoinToken({
        appKey: stack.appKey,
        secret: stack.secret,
        channel,
        uid,
        ttlSeconds: 600,
      }),
      channel,
      uid,
      displayName,
      video: media.get(uid)![0]!,
      audio: media.get(uid)![1]!,
    })),
  )
  const states = new Map<number, string[]>(publishers.map((p) => [p.uid, []]))
  const child = spawn(process.execPath, ['--import', 'tsx', PROCESS_SCRIPT, JSON.stringify(runs)], {
    cwd: joinPath(import.meta.dirname, '../..'),
    // stdin: a pipe only this process holds, so the publishers end with it if it dies without stop().
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [uid, ...rest] = line.split('\t')
    states.get(Number(uid))?.push(rest.join(': '))
  })
  const ended = exited(child)
  const last = (uid: number): string | undefined => states.get(uid)!.at(-1)
  const report = (): string =>
    [...states].map(([uid, lines]) => `publisher ${uid}: ${lines.join('; ') || '(joining)'}`).join('\n')
  return {
    connected: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const now = publishers.map((p) => last(p.uid) ?? '')
        if (now.every((state) => state === 'connected')) return
        if (
          now.some((state) => state.startsWith('failed')) ||
          child.exitCode !== null ||
          Date.now() > deadline
        )
          throw new Error(`the publishers did not all connect:\n${report()}`)
        await sleep(100)
      }
    },
    cpuMicros: () => processCpuMicros(child.pid!),
    stop: async () => {
      child.kill('SIGINT')
      const timedOut = await Promise.race([ended.then(() => false), sleep(10_000).then(() => true)])
      if (timedOut) child.kill('SIGKILL')
      await ended
    },
    report,
  }
}

/**
 * Joins and waits for Connected. A join whose media does not connect in the engine's time on a machine
 * loaded far past its cores (Failed, 30202) is tried once more, as a person would press Join again: these
 * tests are about what the call looks like, the join itself has its own tests (e2e/browser/call.test.ts).
 */
export async function joinConnected(p: Participant, channel: string, uid: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await join(p, channel, uid)
    const state = p.page.locator(
      '[data-testid="connection-state"][data-state="3"], [data-testid="connection-state"][data-state="5"]',
    )
    await state.waitFor({ timeout: 45_000 })
    if ((await state.getAttribute('data-state')) === '3') return
    if (attempt === 2) throw new Error(`${p.name}: the join failed twice`)
    console.warn(`${p.name}: the join failed (machine load?); joining again`)
  }
}
