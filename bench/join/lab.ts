/**
 * Join round trips in the firewall lab (`npm run bench:join -- --lab`, or BENCH_JOIN_LAB=1; root only;
 * docs/engine.md "Join round trips"): the desktop in `lan` behind the link emulator, the proxy in `dmz`, the
 * conference server in `srv` (as the lab tests), a publisher in `srv` sending test video straight to the
 * conference server. For each mode (UDP proxy, TLS 443), cold and warm, and each extra RTT on the desktop's
 * access link (+0 and +100 ms), JOIN_BENCH_LAB_RUNS (3) joins — a fresh engine each, in one agent process
 * in `lan`; a warm one kept a proxy session ready first (prepareJoin, untimed) — measured from joinChannel
 * to Connected and to the publisher's first video frame. A round trip on the critical path costs the added
 * RTT once, so (T100 − T0) / 100 ms of the medians counts them. JOIN_BENCH_LAB_MODES (default
 * udp,tls,udp_warm,tls_warm) picks the modes. Prints the table, each mode's per-step timeline (the
 * engine's `joinTimeline`) with the round trips each
 * step pays, the load average, and last one JSON line.
 */
import { execFile } from 'node:child_process'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { JoinStep } from '../../src/engine'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { TransportType } from '../../src/shared/engine'
import { AgentClient } from '../../e2e/lab/agentClient'
import { createLab, labSupport, type EmulatedLab } from '../../e2e/lab/lab'
import { startLabConference, type LabConference } from '../../e2e/lab/labConference'
import { LAB_APP, startLabProxy, type LabProxy } from '../../e2e/lab/labProxy'
import { rttProfile } from '../../e2e/lab/linkEmulator'
import { labRegion } from '../network/labSetup'
import { fixed, formatTable } from '../lib/table'
import type { BenchAgentOps, JoinFigures } from './protocol'

const run = promisify(execFile)
const RUNS = Math.max(1, Number(process.env['JOIN_BENCH_LAB_RUNS'] ?? 3))
const ADDED_RTT_MS = 100
const FRAME_TIMEOUT_MS = 10_000
const CHANNEL = 'bench-join-lab'
const PUBLISHER_UID = 1
// Each mode cold (a fresh engine joins) and warm (the engine kept a session ready first: prepareJoin).
const ALL_MODES = [
  { name: 'udp', label: 'UDP proxy', mode: TransportType.UDPProxy, warm: false },
  { name: 'tls', label: 'TLS 443', mode: TransportType.TCPProxy, warm: false },
  { name: 'udp_warm', label: 'UDP proxy, warm', mode: TransportType.UDPProxy, warm: true },
  { name: 'tls_warm', label: 'TLS 443, warm', mode: TransportType.TCPProxy, warm: true },
] as const
type ModeName = (typeof ALL_MODES)[number]['name']
const wanted = (process.env['JOIN_BENCH_LAB_MODES'] ?? 'udp,tls,udp_warm,tls_warm')
  .split(',')
  .map((m) => m.trim())
const MODES = ALL_MODES.filter(({ name }) => wanted.includes(name))
const RTTS = [0, ADDED_RTT_MS] as const

const progress = (text: string): void => void process.stderr.write(`[bench:join lab] ${text}\n`)
const median = (values: readonly number[]): number | undefined => {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
const token = (uid: number): Promise<string> =>
  mintJoinToken({ appKey: LAB_APP.appKey, secret: LAB_APP.secret, channel: CHANNEL, uid, ttlSeconds: 3600 })

const support = labSupport()
if (!support.ok) {
  console.log(`bench:join --lab: ${support.reason}`)
  process.exit(0)
}

const AGENT = join(import.meta.dirname, 'labAgent.ts')
let lab: EmulatedLab | undefined
let conference: LabConference | undefined
let proxy: LabProxy | undefined
const agents: AgentClient<BenchAgentOps>[] = []

async function agent(ns: 'lan' | 'srv'): Promise<AgentClient<BenchAgentOps>> {
  const client = new AgentClient<BenchAgentOps>(`bench agent@${ns}`, lab!.spawnNode(ns, AGENT))
  agents.push(client)
  await client.waitEvent('ready', 30_000)
  return client
}

/**
 * Every process of the lab (the delay line, proxy, conference server, agents) at nice -5: on a machine
 * loaded by other work the +0 joins would otherwise wait on the scheduler, and each wait shows up as a
 * round trip less in (T100 − T0). The processes sleep between packets, so this takes little from others.
 */
async function favour(l: EmulatedLab): Promise<void> {
  const pids = new Set<string>()
  for (const ns of [...Object.values(l.names), l.link.namespace]) {
    const out = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }))
    for (const pid of out.stdout.split(/\s+/).filter(Boolean)) pids.add(pid)
  }
  if (pids.size === 0) return
  await run('renice', ['-n', '-5', '-p', ...pids]).catch((error: unknown) =>
    progress(`renice failed (${String(error)}); figures may suffer under load`),
  )
}

type Runs = Record<ModeName, Record<number, JoinFigures[]>>

async function measure(): Promise<Runs> {
  lab = await createLab({ emulateLink: true })
  conference = await startLabConference(lab)
  proxy = await startLabProxy(lab, { signalUpstream: conference.signalUrl })
  const region = labRegion(lab, proxy)
  const [publisher, desktop] = await Promise.all([agent('srv'), agent('lan')])
  await favour(lab)
  await publisher.request('publish', {
    signalUrl: conference.signalUrl,
    token: await token(PUBLISHER_UID),
    channel: CHANNEL,
    uid: PUBLISHER_UID,
  })
  let uid = 100
  const joinOnce = async (mode: TransportType, warm: boolean): Promise<JoinFigures> => {
    const figures = await desktop.request('join', {
      region,
      mode,
      warm,
      token: await token(uid),
      channel: CHANNEL,
      uid: uid++,
      publisherUid: PUBLISHER_UID,
      frameTimeoutMs: FRAME_TIMEOUT_MS,
    })
    // The conference server sees the leave and forgets the participant before the next join.
    await new Promise((resolve) => setTimeout(resolve, 300))
    return figures
  }
  const runs: Runs = { udp: {}, tls: {}, udp_warm: {}, tls_warm: {} }
  // One join per mode first, not counted: the agent's code paths and the servers warm up.
  for (const { mode, warm } of MODES) await joinOnce(mode, warm)
  // +0 and +100 taken in turn, so that the machine's load drifting over the run weighs on both alike.
  for (let round = 0; round < RUNS; round++) {
    for (const { name, mode, warm } of MODES) {
      for (const rtt of RTTS) {
        await lab.link.set(rttProfile(rtt))
        const figures = await joinOnce(mode, warm)
        ;(runs[name][rtt] ??= []).push(figures)
        progress(`+${rtt} ms RTT, ${name} ${round + 1}/${RUNS}: Connected ${figures.connectedMs} ms`)
      }
    }
  }
  return runs
}

interface ModeSummary {
  connected: Record<number, number | undefined>
  firstFrame: Record<number, number | undefined>
  rtts: number | undefined
  firstFrameRtts: number | undefined
}

const roundTrips = (at0: number | undefined, at100: number | undefined): number | undefined =>
  at0 === undefined || at100 === undefined ? undefined : (at100 - at0) / ADDED_RTT_MS

function summarize(runs: JoinFigures[][] | undefined[]): ModeSummary {
  const [zero = [], hundred = []] = runs as JoinFigures[][]
  const connected = {
    0: median(zero.map((r) => r.connectedMs)),
    [ADDED_RTT_MS]: median(hundred.map((r) => r.connectedMs)),
  }
  const frames = (list: JoinFigures[]): number[] => list.flatMap((r) => r.firstFrameMs ?? [])
  const firstFrame = { 0: median(frames(zero)), [ADDED_RTT_MS]: median(frames(hundred)) }
  return {
    connected,
    firstFrame,
    rtts: roundTrips(connected[0], connected[ADDED_RTT_MS]),
    firstFrameRtts: roundTrips(firstFrame[0], firstFrame[ADDED_RTT_MS]),
  }
}

/** Per step: median ms at +0 and +100, the round trips up to it, and those it adds to the step before. */
function timeline(runs: Record<number, JoinFigures[]>, summary: ModeSummary): string {
  const at = (rtt: number, step: JoinStep): number | undefined =>
    median((runs[rtt] ?? []).flatMap((r) => r.steps.filter(([s]) => s === step).map(([, ms]) => ms)))
  const steps = [...new Set((runs[ADDED_RTT_MS] ?? []).flatMap((r) => r.steps.map(([s]) => s)))]
  const rows: [string, number | undefined, number | undefined][] = [
    ...steps.map((step): [string, number | undefined, number | undefined] => [
      step,
      at(0, step),
      at(ADDED_RTT_MS, step),
    ]),
    ['Connected', summary.connected[0], summary.connected[ADDED_RTT_MS]],
    ['first remote video frame', summary.firstFrame[0], summary.firstFrame[ADDED_RTT_MS]],
  ]
  let before = 0
  return formatTable(
    ['step', '+0 ms', `+${ADDED_RTT_MS} ms`, 'round trips so far', 'this step'],
    rows.map(([step, t0, t100]) => {
      const so = roundTrips(t0, t100)
      const own = so === undefined ? undefined : so - before
      if (so !== undefined) before = so
      return [step, `${fixed(t0, 0)} ms`, `${fixed(t100, 0)} ms`, fixed(so), fixed(own)]
    }),
  )
}

async function main(): Promise<void> {
  const loadBefore = load()
  progress(`load average at start: ${loadBefore}`)
  const runs = await measure()
  const loadAfter = load()
  const summaries = Object.fromEntries(
    ALL_MODES.map(({ name }) => [name, summarize(RTTS.map((rtt) => runs[name][rtt] ?? []))]),
  ) as Record<ModeName, ModeSummary>
  console.log(
    `join round trips in the firewall lab: median of ${RUNS} joins per cell, +${ADDED_RTT_MS} ms RTT ` +
      `on lan's access link; load average ${loadBefore} (start), ${loadAfter} (end)\n`,
  )
  console.log(
    formatTable(
      [
        'mode',
        'Connected +0',
        `+${ADDED_RTT_MS}`,
        'round trips',
        'first video +0',
        `+${ADDED_RTT_MS}`,
        'round trips',
      ],
      MODES.map(({ name, label }) => {
        const s = summaries[name]
        return [
          label,
          `${fixed(s.connected[0], 0)} ms`,
          `${fixed(s.connected[ADDED_RTT_MS], 0)} ms`,
          fixed(s.rtts),
          `${fixed(s.firstFrame[0], 0)} ms`,
          `${fixed(s.firstFrame[ADDED_RTT_MS], 0)} ms`,
          fixed(s.firstFrameRtts),
        ]
      }),
    ),
  )
  for (const { name, label } of MODES) {
    console.log(`\n${label}: the join step by step (median ms from joinChannel)\n`)
    console.log(timeline(runs[name], summaries[name]))
  }
  const one = (value: number | undefined): number | null =>
    value === undefined ? null : Math.round(value * 10) / 10
  console.log(
    JSON.stringify({
      udp_rtts: one(summaries.udp.rtts),
      tls_rtts: one(summaries.tls.rtts),
      udp_first_frame_rtts: one(summaries.udp.firstFrameRtts),
      tls_first_frame_rtts: one(summaries.tls.firstFrameRtts),
      udp_ms_rtt100: summaries.udp.connected[ADDED_RTT_MS] ?? null,
      tls_ms_rtt100: summaries.tls.connected[ADDED_RTT_MS] ?? null,
      udp_warm_rtts: one(summaries.udp_warm.rtts),
      tls_warm_rtts: one(summaries.tls_warm.rtts),
      udp_ms_rtt0: summaries.udp.connected[0] ?? null,
      tls_ms_rtt0: summaries.tls.connected[0] ?? null,
      runs: RUNS,
      load: [loadBefore, loadAfter],
    }),
  )
}

try {
  await main()
} finally {
  for (const client of agents) await client.close()
  await proxy?.stop()
  await conference?.stop()
  await lab?.destroy()
}
process.exit(0)
