import { execFile } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import type { EventLine } from '../../src/cli/eventLines'
import { readIvf, readOggOpus, type ReceivedCounts } from '../../src/cli/media'
import { encodeTestVideo } from '../sfu/vp8'
import { exited, killGroup, stopChild } from '../support/process'
import { requireTool } from '../support/tools'
import { REPO, type Lab } from './lab'
import { LAB_APP, type LabProxy } from './labProxy'
import { WHITELIST } from './topology'

/** `pinhole join` inside `lan`, its JSON lines read live (for the lab tests that act mid-call). */

const run = promisify(execFile)

export interface JoinSummary {
  event: 'summary'
  received: Record<string, { video: ReceivedCounts; audio: ReceivedCounts }>
}

export interface JoinResult {
  code: number | null
  lines: EventLine[]
  summary: JoinSummary | undefined
  stderr: string
}

export interface LiveJoin {
  /** performance.now() when the process was spawned (the origin of each line's `at`). */
  startedAt: number
  /** Every event line so far, with `at`: ms since spawning (test clock) alongside the CLI's own `t`. */
  lines: (EventLine & { at: number })[]
  /** Resolves with the first line (already printed or to come) matching `test`; rejects after `timeoutMs`. */
  waitFor(test: (line: EventLine) => boolean, timeoutMs: number): Promise<EventLine & { at: number }>
  /** SIGTERM: the CLI leaves the channel and exits 0. */
  leave(): void
  done: Promise<JoinResult>
  /** The lines and stderr so far, for failure messages. */
  dump(): string
}

export interface StartJoinOptions {
  /** Killed after this long if still running; default 50 s. */
  limitMs?: number
  /** The engine's reconnect budget (`--reconnect-budget-ms`; the engine's default is 60 s). */
  reconnectBudgetMs?: number
}

/** Spawns `bin/pinhole.js join ARGS` in `lan`. */
export function startJoin(lab: Lab, args: readonly string[], options: StartJoinOptions = {}): LiveJoin {
  const { limitMs = 50_000, reconnectBudgetMs } = options
  const t0 = performance.now()
  const budget = reconnectBudgetMs === undefined ? [] : ['--reconnect-budget-ms', String(reconnectBudgetMs)]
  const child = lab.spawn('lan', process.execPath, [join(REPO, 'bin/pinhole.js'), 'join', ...budget, ...args])
  const lines: (EventLine & { at: number })[] = []
  const waiters = new Set<{
    test: (line: EventLine) => boolean
    resolve: (line: EventLine & { at: number }) => void
  }>()
  let summary: JoinSummary | undefined
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const parsed = JSON.parse(text) as EventLine | JoinSummary
    if (parsed.event === 'summary') {
      summary = parsed
      return
    }
    const line = { ...parsed, at: Math.round(performance.now() - t0) }
    lines.push(line)
    for (const waiter of waiters) {
      if (!waiter.test(line)) continue
      waiters.delete(waiter)
      waiter.resolve(line)
    }
  })
  const timer = setTimeout(() => void stopChild(child, 1000), limitMs)
  const dump = (): string => `${stderr}\n${lines.map((line) => JSON.stringify(line)).join('\n')}`
  const done = exited(child).then(async () => {
    clearTimeout(timer)
    await new Promise((resolve) => setImmediate(resolve))
    return { code: child.exitCode, lines, summary, stderr }
  })
  return {
    startedAt: t0,
    lines,
    dump,
    done,
    leave: () => killGroup(child, 'SIGTERM'),
    waitFor(test, timeoutMs) {
      const seen = lines.find(test)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const waiter = {
          test,
          resolve: (line: EventLine & { at: number }) => {
            clearTimeout(timeout)
            resolve(line)
          },
        }
        const timeout = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no matching line within ${timeoutMs} ms:\n${dump()}`))
        }, timeoutMs)
        waiters.add(waiter)
        void done.then(() => {
          if (!waiters.delete(waiter)) return
          clearTimeout(timeout)
          reject(new Error(`pinhole join exited (${child.exitCode}) before a matching line:\n${dump()}`))
        })
      })
    },
  }
}

/** The state name of a `connectionStateChanged` line (or undefined). */
export const stateOf = (line: EventLine): string | undefined =>
  line.event === 'connectionStateChanged' ? line.names?.[0] : undefined

/** `pinhole join` flags for one lab region on the dmz proxy, TLS 443 pinned by the proxy's fingerprint. */
export function labRegionFlags(lab: Lab, proxy: LabProxy): string[] {
  const pem = proxy.turn('tls-443', 'flags').turnTlsCa
  if (pem === undefined) throw new Error('labProxy gave no certificate for tls-443')
  const udp = WHITELIST.filter((w) => w.proto === 'udp').map((w) => w.port)
  const tcp = WHITELIST.find((w) => w.proto === 'tcp')!.port
  return [
    ...['--proxy', lab.addresses.dmz, '--region', 'lab', '--name', 'Lab DMZ'],
    ...['--udp-ports', udp.join(','), '--tcp-port', String(tcp)],
    ...['--fingerprint', new X509Certificate(pem).fingerprint256],
  ]
}

/** Channel, uid and a token minted from the lab app. */
export const labJoinFlags = (mode: string, uid: number, channel: string): string[] => [
  ...['--proxy-mode', mode, '--channel', channel, '--uid', String(uid)],
  ...['--app-key', LAB_APP.appKey, '--app-secret', LAB_APP.secret],
]

/** Closes both whitelisted UDP ports on the router (so no UDP from lan gets anywhere); returns the undo. */
export async function blockAllUdp(lab: Lab): Promise<() => Promise<void>> {
  const undos: (() => Promise<void>)[] = []
  for (const w of WHITELIST.filter((entry) => entry.proto === 'udp'))
    undos.push(await lab.block({ proto: 'udp', port: w.port }))
  return async () => {
    for (const undo of undos) await undo()
  }
}

export interface LabMedia {
  video: string
  audio: string
  /** `--send-video V --send-audio A`. */
  flags: string[]
  /** sha256 (hex) of every frame of each file, as `pinhole join` prints received frames. */
  videoHashes: Set<string>
  audioHashes: Set<string>
  remove(): void
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

/** ffmpeg: `seconds` of VP8 (a keyframe every 30 frames, IVF) and of Opus (Ogg), in a temporary directory. */
export async function makeLabMedia(seconds: number): Promise<LabMedia> {
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-lab-media-'))
  const ffmpeg = requireTool('ffmpeg')
  await Promise.all([
    encodeTestVideo(dir, 'video', seconds, 30),
    run(ffmpeg, [
      ...['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`],
      ...['-c:a', 'libopus', '-y', join(dir, 'audio.ogg')],
    ]),
  ])
  const video = join(dir, 'video.ivf')
  const audio = join(dir, 'audio.ogg')
  return {
    video,
    audio,
    flags: ['--send-video', video, '--send-audio', audio],
    videoHashes: new Set(readIvf(readFileSync(video)).frames.map((f) => sha256(f.data))),
    audioHashes: new Set(readOggOpus(readFileSync(audio)).frames.map((f) => sha256(f.data))),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** The `{bytes, sha256}` of each remote frame line of `kind` from `uid`. */
export function receivedHashes(lines: readonly EventLine[], kind: 'video' | 'audio', uid: number): string[] {
  const event = kind === 'video' ? 'remoteVideoFrame' : 'remoteAudioFrame'
  return lines
    .filter((line) => line.event === event)
    .map((line) => line.args[0] as { uid: number; data: { sha256: string } })
    .filter((frame) => frame.uid === uid)
    .map((frame) => frame.data.sha256)
}
