/**
 * Media bench (`npm run bench:media`, issue 5 item 4): two participants, each a Debian Chromium running the
 * built renderer through the browser host (src/webhost) on its embedded stack (proxy + conference server on
 * loopback), 640x360 at 30 fps, in UDP and TCP (TLS 443) proxy mode.
 *
 * Glass-to-glass: each participant's fake camera file carries its frame number as 10 black/white blocks
 * along the top. In both pages a poller reads the stripe every 4 ms: on the sender from its local preview
 * (the captured frame as the page first sees it: "stamped at capture"), on the receiver from the remote
 * tile's canvas (drawn as the VideoDecoder outputs it: "measured at decode"). Latency = time first seen on
 * the receiver − time first seen on the sender, on one machine clock (performance.timeOrigin + now()).
 * The file loops every 2 s, so a code is matched with the latest sighting on the sender before it.
 * It leaves out the camera's own delay and includes the preview's (a few ms).
 *
 * Also: received frame rate (decoded frames per second at each receiver) and CPU of this process tree
 * (host + engines + both browsers) as % of one core. Ends with one JSON line.
 *
 * Options (env): MEDIA_BENCH_SECONDS=15 (measurement per mode).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { requireBrowserTools } from '../e2e/browser/browsers'
import { buildRenderer } from '../e2e/browser/buildRenderer'
import { makeFakeMedia, type FakeMedia } from '../e2e/browser/fakeMedia'
import { tileFigures } from '../e2e/browser/pageProbe'
import {
  chooseProxyMode,
  closeParticipant,
  join as joinCall,
  leave,
  openParticipant,
  receiveFrom,
  waitForState,
  type Participant,
} from '../e2e/browser/participant'
import { requireTool } from '../e2e/support/tools'
import { startWebHost } from '../src/webhost/server'
import { startPoller, stopPoller } from './lib/stampPoller'
import { fixed, formatTable } from './lib/table'

const SECONDS = Math.max(3, Number(process.env.MEDIA_BENCH_SECONDS ?? 15))
const UID_A = 1001
const UID_B = 2002
const MODES = [
  { name: 'udp', mode: 1 },
  { name: 'tls', mode: 2 },
] as const
const run = promisify(execFile)

/** The frame number as 10 blocks of 40x40 (white = 1) along the top; a coloured background per person. */
async function stampedVideo(dir: string, media: FakeMedia, uv: [number, number]): Promise<FakeMedia> {
  const video = join(dir, `stamped-${media.color}.y4m`)
  const bit = `255*gt(bitand(N,pow(2,floor(X/40))),0)`
  const lum = `if(lt(Y,40),if(lt(X,400),${bit},16),110)`
  await run(requireTool('ffmpeg'), [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'color=c=gray:s=640x360:r=30:d=2'],
    ...['-vf', `format=yuv444p,geq=lum='${lum}':cb=${uv[0]}:cr=${uv[1]},format=yuv420p`],
    video,
  ])
  return { ...media, video }
}

/** Each receiver sighting matched with the latest sender sighting of the same code before it (< 1 s). */
function latencies(sent: [number, number][], received: [number, number][]): number[] {
  const out: number[] = []
  for (const [code, at] of received) {
    let best: number | undefined
    for (const [sentCode, sentAt] of sent) if (sentCode === code && sentAt <= at) best = sentAt
    if (best !== undefined && at - best < 1000) out.push(at - best)
  }
  return out
}

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** CPU seconds of this process and all its descendants (/proc; clock ticks of 100 Hz). */
function treeCpuSeconds(): number {
  const children = new Map<number, number[]>()
  const ticks = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // the process ended while we listed /proc
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const pid = Number(entry)
    const ppid = Number(fields[1])
    children.set(ppid, [...(children.get(ppid) ?? []), pid])
    ticks.set(pid, Number(fields[11]) + Number(fields[12]))
  }
  let total = 0
  const stack = [process.pid]
  while (stack.length > 0) {
    const pid = stack.pop()!
    total += ticks.get(pid) ?? 0
    stack.push(...(children.get(pid) ?? []))
  }
  return total / 100
}

interface ModeFigures {
  p50Ms: number | undefined
  p95Ms: number | undefined
  samples: number
  rxFps: number
  cpuPercent: number
}

async function measureMode(a: Participant, b: Participant, mode: number, name: string): Promise<ModeFigures> {
  await Promise.all([chooseProxyMode(a, mode), chooseProxyMode(b, mode)])
  await Promise.all([joinCall(a, `bench-media-${name}`, UID_A), joinCall(b, `bench-media-${name}`, UID_B)])
  await Promise.all([waitForState(a, 3), waitForState(b, 3)])
  await Promise.all([receiveFrom(a, UID_B), receiveFrom(b, UID_A)])
  const local = '[data-testid="local-preview"]'
  await Promise.all([
    startPoller(a.page, local, 'local'),
    startPoller(b.page, local, 'local'),
    startPoller(a.page, `[data-testid="remote-video-${UID_B}"]`, 'remote'),
    startPoller(b.page, `[data-testid="remote-video-${UID_A}"]`, 'remote'),
  ])
  const framesBefore = [(await tileFigures(a.page, UID_B)).frames, (await tileFigures(b.page, UID_A)).frames]
  const cpuBefore = treeCpuSeconds()
  const started = Date.now()
  await new Promise((r) => setTimeout(r, SECONDS * 1000))
  const wall = (Date.now() - started) / 1000
  const cpu = treeCpuSeconds() - cpuBefore
  const framesAfter = [(await tileFigures(a.page, UID_B)).frames, (await tileFigures(b.page, UID_A)).frames]
  const [remoteAtA, remoteAtB] = [await stopPoller(a.page, 'remote'), await stopPoller(b.page, 'remote')]
  const [localA, localB] = [await stopPoller(a.page, 'local'), await stopPoller(b.page, 'local')]
  await Promise.all([leave(a), leave(b)])
  const all = [...latencies(localB, remoteAtA), ...latencies(localA, remoteAtB)]
  const fps = framesAfter.map((after, i) => (after - (framesBefore[i] ?? 0)) / wall)
  return {
    p50Ms: percentile(all, 50),
    p95Ms: percentile(all, 95),
    samples: all.length,
    rxFps: Math.min(...fps),
    cpuPercent: (cpu / wall) * 100,
  }
}

requireBrowserTools()
const dir = mkdtempSync(join(tmpdir(), 'pinhole-bench-media-'))
const [red, blue] = await Promise.all([makeFakeMedia(dir, 'red', 440), makeFakeMedia(dir, 'blue', 660)])
const mediaA = await stampedVideo(dir, red, [90, 200])
const mediaB = await stampedVideo(dir, blue, [200, 90])
await buildRenderer(join(dir, 'renderer'))
const host = await startWebHost({ dataDir: join(dir, 'data'), rendererDir: join(dir, 'renderer') })
const a = await openParticipant('A', mediaA, host.url)
const b = await openParticipant('B', mediaB, host.url)
const results: Record<string, ModeFigures> = {}
try {
  for (const { name, mode } of MODES) results[name] = await measureMode(a, b, mode, name)
} finally {
  await closeParticipant(a)
  await closeParticipant(b)
  await host.close()
  rmSync(dir, { recursive: true, force: true })
}

console.log(`\nGlass-to-glass over ${SECONDS} s per mode, 640x360 30 fps, ${cpus().length} cores\n`)
console.log(
  formatTable(
    ['mode', 'p50 ms', 'p95 ms', 'samples', 'rx fps (min)', 'CPU % of a core'],
    Object.entries(results).map(([name, r]) => [
      name,
      fixed(r.p50Ms),
      fixed(r.p95Ms),
      String(r.samples),
      fixed(r.rxFps),
      fixed(r.cpuPercent, 0),
    ]),
  ),
)
console.log(JSON.stringify({ bench: 'media', seconds: SECONDS, cores: cpus().length, modes: results }))
