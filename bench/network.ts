/**
 * Network bench (`npm run bench:network`, issue 12; docs/media.md "bench:network"): Pinhole's calls against
 * Chromium's own WebRTC on the same impaired link, in the firewall lab (docs/lab.md).
 *
 * Ours: two Chromiums in `lan` run the built renderer through the browser host (also in lan), one channel
 * through the proxy in `dmz` and the conference server in `srv`. The anchor: two Chromiums in `lan` with
 * native RTCPeerConnection, relay-only through coturn in `dmz` (on the proxy's ports, while the proxy is
 * stopped). The link emulator impairs the desktops' access link (lan ↔ router) both ways; the profiles are
 * in bench/network/profiles.ts. Each side of each profile: warm-up, then the measurement window; figures
 * from bench/network/metrics.ts. Prints a table (ours, native, ratio), then one JSON line:
 * `{profile: {ours: {...}, native: {...}}}`.
 *
 * Root only (network namespaces, nftables): anyone else gets a message and exit 0.
 * Options (env): BENCH_SECONDS=60 (measurement), BENCH_WARMUP_SECONDS=10, BENCH_PROFILES=clean,office,...
 * (default all), BENCH_SIDES=ours,native (default both), BENCH_DUMP=file (what the pages recorded, JSON),
 * BENCH_LABEL (names the tree in the header line instead of its git commit), BENCH_HOST_LOG=file (the browser
 * host's engine log at debug level, with each join's steps: bench/network/hostProcess.ts).
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireBrowserTools } from '../e2e/browser/browsers'
import { buildRenderer } from '../e2e/browser/buildRenderer'
import type { FakeMedia } from '../e2e/browser/fakeMedia'
import { labSupport, type Lab } from '../e2e/lab/lab'
import { startLabConference } from '../e2e/lab/labConference'
import { blockAllUdp } from '../e2e/lab/labJoin'
import { startLabProxy, type LabProxy } from '../e2e/lab/labProxy'
import { chromiumSpkiPinArgs } from '../e2e/support/chromium'
import { generateTestCert, type TestCert } from '../e2e/support/certs'
import { requireTool } from '../e2e/support/tools'
import { createBenchLab } from './network/link'
import { labRegion, lanChromium, startDmzCoturn, startLanHost } from './network/labSetup'
import { benchMedia, MATCH_MAX_AGE_MS } from './network/media'
import { sideFigures, type SideFigures } from './network/metrics'
import { runNative } from './network/native'
import { runOurs, type OursContext, type SideResult } from './network/ours'
import { benchProfiles, pickProfiles, type BenchProfile } from './network/profiles'
import { formatReport, jsonLine, type ProfileResult } from './network/report'

const support = labSupport()
if (!support.ok) {
  console.log(`bench:network: ${support.reason}`)
  process.exit(0)
}

const SECONDS = Math.max(5, Number(process.env['BENCH_SECONDS'] ?? 60))
const WARMUP_SECONDS = Math.max(0, Number(process.env['BENCH_WARMUP_SECONDS'] ?? 10))
const PROFILES = pickProfiles(process.env['BENCH_PROFILES'])
const SIDES = (process.env['BENCH_SIDES'] ?? 'ours,native').split(',').map((s) => s.trim())
const timing = { warmupS: WARMUP_SECONDS, seconds: SECONDS }
const profiles = benchProfiles(SECONDS)

const EMPTY: SideFigures = {
  g2g_p50_ms: null,
  g2g_p95_ms: null,
  freezes_per_min: null,
  frozen_ms: null,
  rx_fps: null,
  rx_kbps: null,
  audio_concealed_ratio: null,
}

function figures(result: SideResult | undefined, profile: BenchProfile): SideFigures {
  if (result === undefined) return profile.step ? { ...EMPTY, adapt_down_s: null, recover_s: null } : EMPTY
  return sideFigures(result.record, MATCH_MAX_AGE_MS, result.step)
}

function commit(): string {
  if (process.env['BENCH_LABEL']) return process.env['BENCH_LABEL']
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

const progress = (text: string): void => void process.stderr.write(`[bench:network] ${text}\n`)
const notes = new Set<string>()
const failed =
  (what: string) =>
  (error: unknown): undefined => {
    notes.add(`${what} failed: ${String(error).split('\n')[0]}`)
    return undefined
  }

interface Stack {
  lab: Lab
  proxy: LabProxy
  hostUrl: string
  cert: TestCert
  base: Omit<OursContext, 'hostUrl'>
}

/** The lab with its emulated link, the conference server, the proxy and the browser host; `cleanups` undo it. */
async function startStack(dir: string, cleanups: (() => Promise<void>)[]): Promise<Stack> {
  const built = buildRenderer(join(dir, 'renderer'))
  const media: [FakeMedia, FakeMedia] = [await benchMedia(dir, 'a'), await benchMedia(dir, 'b')]
  await built
  const { lab, link } = await createBenchLab()
  cleanups.unshift(() => lab.destroy())
  const conference = await startLabConference(lab)
  cleanups.unshift(() => conference.stop())
  const proxy = await startLabProxy(lab, { signalUpstream: conference.signalUrl })
  cleanups.unshift(() => proxy.stop())
  const host = await startLanHost(lab, {
    dataDir: join(dir, 'data'),
    rendererDir: join(dir, 'renderer'),
    regions: [labRegion(lab, proxy)],
    ...(process.env['BENCH_HOST_LOG'] ? { logFile: process.env['BENCH_HOST_LOG'] } : {}),
  })
  cleanups.unshift(() => host.stop())
  const cert = await generateTestCert({ ips: [lab.addresses.dmz], dnsNames: [] })
  return { lab, proxy, hostUrl: host.url, cert, base: { launch: lanChromium(lab, dir), media, link, timing } }
}

/** The native side: coturn takes the proxy's ports for the run, the proxy gets them back after. */
async function nativeSide(stack: Stack, dir: string, profile: BenchProfile): Promise<SideResult | undefined> {
  await stack.proxy.kill()
  const coturn = await startDmzCoturn(stack.lab, dir, stack.cert)
  try {
    const extraArgs = chromiumSpkiPinArgs(stack.cert.certPem)
    return await runNative({ ...stack.base, coturn, extraArgs }, profile).catch(
      failed(`${profile.name} native`),
    )
  } finally {
    await coturn.stop()
    await stack.proxy.restart()
  }
}

async function runProfile(stack: Stack, dir: string, profile: BenchProfile): Promise<BenchRun> {
  const run: BenchRun = {}
  const unblock = profile.tlsOnly ? await blockAllUdp(stack.lab) : undefined
  try {
    if (SIDES.includes('ours')) {
      progress(`${profile.name}: ours`)
      await stack.base.link.set(profile.link)
      run.ours = await runOurs({ ...stack.base, hostUrl: stack.hostUrl }, profile).catch(
        failed(`${profile.name} ours`),
      )
    }
    if (SIDES.includes('native')) {
      progress(`${profile.name}: native`)
      await stack.base.link.set(profile.link)
      run.native = await nativeSide(stack, dir, profile)
    }
  } finally {
    await unblock?.()
  }
  return run
}

type BenchRun = { ours?: SideResult | undefined; native?: SideResult | undefined }

requireBrowserTools()
requireTool('turnserver')
const dir = mkdtempSync(join(tmpdir(), 'pinhole-bench-network-'))
const results: ProfileResult[] = []
const cleanups: (() => Promise<void>)[] = []
const raw: Record<string, BenchRun> = {}
try {
  const stack = await startStack(dir, cleanups)
  for (const name of PROFILES) {
    const profile = profiles[name]
    const { ours, native } = (raw[name] = await runProfile(stack, dir, profile))
    for (const note of [...(ours?.notes ?? []), ...(native?.notes ?? [])]) notes.add(note)
    results.push({
      profile,
      ours: figures(ours, profile),
      native: figures(native, profile),
      load: { ours: ours?.loadAverage ?? null, native: native?.loadAverage ?? null },
    })
  }
} finally {
  for (const cleanup of cleanups)
    await cleanup().catch((error: unknown) => progress(`cleanup: ${String(error)}`))
  rmSync(dir, { recursive: true, force: true })
}

const dump = process.env['BENCH_DUMP']
if (dump) writeFileSync(dump, JSON.stringify(raw))
console.log(
  `\nbench:network at ${commit()}: ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per profile and side, ` +
    `${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
)
console.log(formatReport(results))
for (const note of notes) console.log(`note: ${note}`)
console.log(jsonLine(results))
