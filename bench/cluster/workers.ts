/**
 * bench:cluster's workers part: a real `pinhole-server` (sfu.enabled, cluster.redis) with `sfu.workers: 1`,
 * then `sfu.workers: 2`, on this machine; channels of 4 participants who all publish (load generators,
 * bench/cluster/loadGen.ts) are added step by step and the loss measured over a window at each step. The
 * participants sustained (below 1 % loss, senders at ≥ 90 % of their nominal packets) per configuration,
 * and the ratio 2 workers ÷ 1 worker. Server CPU (the parent and its workers, from /proc), its busiest
 * node's and the generators' CPU are printed per step: they share the machine's cores.
 */
import { cpus, loadavg } from 'node:os'
import { readFileSync } from 'node:fs'
import { machineCpuSync, processCpuMicros } from '../../e2e/support/process'
import { startRedis, type RedisServer } from '../../e2e/support/redisServer'
import { startServerProcess } from '../../e2e/support/serverProcess'
import { freePort, sleep } from '../../e2e/support/tools'
import { fixed, formatTable } from '../lib/table'
import { rtpSinkAddon } from './rtpAddon'
import { BENCH_APP, PER_CHANNEL, startLoadGen, type LoadGen } from './loadGen'
import { endedOnNode, projectToCeiling, sustained } from './stats'

export interface WorkersOptions {
  /** Channels of 4 at each step. */
  steps: readonly number[]
  /** `sfu.workers` of each configuration, in order (1 then 2; the ratio is 2 ÷ 1). */
  configs: readonly number[]
  windowMs: number
  generators: number
  fps: number
  frameBytes: number
}

export interface WorkersStep {
  workers: number
  channels: number
  participants: number
  /** Packets/s the node forwarded (sent × the others of the channel); the loss the participants saw. */
  pps: number
  loss: number
  /** What the participants sent ÷ their nominal rate (Opus 50/s + video frames/s × packets per frame). */
  offered: number
  /** % of one core over the window: the server (parent + workers) and the load generators together. */
  serverCpu: number
  generatorCpu: number
  /** The busiest conference node process over the window (% of one core): the one that saturates first. */
  busiestNodeCpu: number
  /**
   * CPU time per participant and second of the window (µs): the server (parent and workers) and the load
   * generators. The generators must stay well below the server for the nodes to be what saturates.
   */
  serverUsPerParticipant: number
  generatorUsPerParticipant: number
  /** Whole machine busy over the window, % of all cores (other work included). */
  machineBusy: number
  /** Received headers that named no recent packet of their sender (not counted: they show as loss). */
  unmapped: number
  /** Share of the participants' packets the native addon encrypted and sent. */
  nativeShare: number
  joinFailures: number
  /** The worst sender → receiver pairs of the window (for a lossy step). */
  lossy: string[]
}

export interface WorkersResult {
  options: WorkersOptions
  steps: WorkersStep[]
  /** Participants sustained below 1 % loss with 1 worker and with 2. */
  sustained: [number, number]
  ratio: number
  /**
   * What each configuration would carry with its busiest node process at a full core and nothing else on the
   * machine (`projection`). Its ratio says whether the second worker doubles the capacity once the load
   * generator runs elsewhere.
   */
  projected: [number, number]
  projectedRatio: number
  /** Whether each ramp ended with its busiest node near a full core (stats.ts endedOnNode). */
  endedOnNode: [boolean, boolean]
}

const stepsOf = (steps: readonly WorkersStep[], workers: number) => steps.filter((s) => s.workers === workers)

/**
 * Participants the configuration would carry with its busiest node at a full core: the line through the
 * busiest node's CPU over its sustained steps (fixed cost + marginal cost per participant), or the
 * proportion at the one sustained step when there is only one.
 */
function projection(steps: readonly WorkersStep[], workers: number, participants: number): number {
  const clean = stepsOf(steps, workers).filter((s) => s.participants <= participants)
  const samples = clean.map((s) => ({ participants: s.participants, cpu: s.busiestNodeCpu }))
  const fitted = projectToCeiling(samples)
  if (fitted !== undefined) return Math.round(fitted)
  const step = clean.at(-1)
  return step && step.busiestNodeCpu > 0 ? Math.round((step.participants * 100) / step.busiestNodeCpu) : 0
}

const REGION = 'bench'
const MAX_LOSS = 0.01
/** A step counts only if the participants sent at least this share of their nominal packets. */
const MIN_OFFERED = 0.9
/** A node this busy (% of one core) at the end of a ramp is what ended it (burst headroom left aside). */
const NODE_SATURATED = 70

export async function runWorkersBench(options: WorkersOptions): Promise<WorkersResult> {
  const redis = await startRedis()
  try {
    const steps: WorkersStep[] = []
    for (const workers of options.configs) steps.push(...(await ramp(workers, options, redis)))
    const of = (workers: number) => sustained(stepsOf(steps, workers), MAX_LOSS, MIN_OFFERED)
    const result: [number, number] = [of(1), of(2)]
    const projected: [number, number] = [projection(steps, 1, result[0]), projection(steps, 2, result[1])]
    return {
      options,
      steps,
      sustained: result,
      ratio: result[0] > 0 ? result[1] / result[0] : 0,
      projected,
      projectedRatio: projected[0] > 0 ? projected[1] / projected[0] : 0,
      endedOnNode: [
        endedOnNode(stepsOf(steps, 1), NODE_SATURATED),
        endedOnNode(stepsOf(steps, 2), NODE_SATURATED),
      ],
    }
  } finally {
    await redis.stop()
  }
}

/** One configuration: the server, fresh generators, channels added until the loss passes 5 % or a join fails. */
async function ramp(workers: number, options: WorkersOptions, redis: RedisServer): Promise<WorkersStep[]> {
  const server = await startServerProcess(
    {
      log: { level: 'info' },
      apps: [BENCH_APP],
      sfu: {
        enabled: true,
        port: 0,
        workers,
        maxChannels: 10_000,
        maxConnections: 10_000,
        keepaliveMs: 60_000,
      },
      cluster: { redis: redis.url, region: REGION, heartbeatMs: 500, ttlMs: 5000 },
      admin: { host: '127.0.0.1', port: await freePort('tcp') },
    },
    { label: `bench-workers-${workers}` },
  )
  const generators: LoadGen[] = []
  const rows: WorkersStep[] = []
  try {
    for (let g = 0; g < options.generators; g++) {
      generators.push(
        await startLoadGen({
          redis: redis.url,
          region: REGION,
          fps: options.fps,
          frameBytes: options.frameBytes,
        }),
      )
    }
    await sleep(1000) // every worker has heart-beaten: placement sees them all
    let channels = 0
    for (const target of options.steps) {
      const names = Array.from(
        { length: Math.max(0, target - channels) },
        (_, i) => `w${workers}-c${channels + i}`,
      )
      channels = Math.max(channels, target)
      // Channel i goes to generator i % n; the generators join theirs side by side.
      const added = await Promise.all(
        generators.map((gen, g) => gen.add(names.filter((_, i) => i % generators.length === g))),
      )
      const joinFailures = added.reduce((n, a) => n + a.failed, 0)
      const participants = added.reduce((n, a) => n + a.participants, 0)
      await sleep(2000) // renegotiations and keyframes settle
      const measureStep = () =>
        measure(workers, channels, participants, server.pid, generators, options.windowMs)
      let row = await measureStep()
      // The machine is shared: a failing window is measured once more before it ends the ramp.
      if (failing(row)) {
        console.log(`  workers ${workers}, ${participants} participants: ${describe(row)}; measuring again`)
        row = await measureStep()
      }
      rows.push({ ...row, participants, joinFailures })
      const failures = joinFailures
        ? `; ${joinFailures} joins failed (${added.find((a) => a.reason)?.reason})`
        : ''
      console.log(`  workers ${workers}, ${participants} participants: ${describe(row)}${failures}`)
      if (joinFailures > 0 || failing(row)) break
    }
  } finally {
    await Promise.all(generators.map((g) => g.close()))
    await server.stop()
  }
  return rows
}

const failing = (row: { loss: number; offered: number }): boolean =>
  row.loss >= MAX_LOSS || row.offered < MIN_OFFERED

function describe(row: Omit<WorkersStep, 'joinFailures' | 'participants'>): string {
  const worst = row.loss >= MAX_LOSS && row.lossy.length > 0 ? ` (worst pairs: ${row.lossy.join(', ')})` : ''
  return (
    `loss ${fixed(row.loss * 100, 2)} %${worst}, sent ${fixed(row.offered * 100, 0)} % of nominal, ` +
    `server CPU ${row.serverCpu} %, generators ${row.generatorCpu} % ` +
    `(µs per participant-second: server ${row.serverUsPerParticipant}, generators ${row.generatorUsPerParticipant})` +
    (row.unmapped > 0 ? `, ${row.unmapped} unmapped headers` : '')
  )
}

async function measure(
  workers: number,
  channels: number,
  participants: number,
  serverPid: number,
  generators: readonly LoadGen[],
  windowMs: number,
): Promise<Omit<WorkersStep, 'joinFailures' | 'participants'>> {
  const server0 = await processCpuMicros(serverPid)
  const nodes = nodePids(serverPid)
  const nodes0 = await Promise.all(nodes.map(processCpuMicros))
  const machine0 = machineCpuSync()
  const started = performance.now()
  const windows = await Promise.all(generators.map((g) => g.window(windowMs)))
  const elapsedMs = Math.min(...windows.map((w) => w.elapsedMs))
  // The server's CPU up to now also covers the 300 ms the generators wait for packets in flight.
  const serverMs = performance.now() - started
  const server1 = await processCpuMicros(serverPid)
  const nodes1 = await Promise.all(nodes.map(processCpuMicros))
  const machine1 = machineCpuSync()
  const expected = windows.reduce((n, w) => n + w.expected, 0)
  const received = windows.reduce((n, w) => n + w.received, 0)
  const generatorMicros = windows.reduce((n, w) => n + w.cpuMicros, 0)
  return {
    lossy: windows.flatMap((w) => w.lossy),
    offered:
      windows.reduce((n, w) => n + w.sent, 0) /
      Math.max(
        1,
        windows.reduce((n, w) => n + w.nominal, 0),
      ),
    workers,
    channels,
    pps: Math.round((windows.reduce((n, w) => n + w.forwarded, 0) * 1000) / elapsedMs),
    loss: expected === 0 ? 1 : Math.max(0, 1 - received / expected),
    serverCpu: Math.round((server1 - server0) / 10 / serverMs),
    generatorCpu: Math.round(generatorMicros / 10 / elapsedMs),
    serverUsPerParticipant: Math.round((server1 - server0) / Math.max(1, participants) / (serverMs / 1000)),
    generatorUsPerParticipant: Math.round(generatorMicros / Math.max(1, participants) / (elapsedMs / 1000)),
    unmapped: windows.reduce((n, w) => n + w.unmapped, 0),
    nativeShare:
      windows.reduce((n, w) => n + w.nativeSent, 0) /
      Math.max(
        1,
        windows.reduce((n, w) => n + w.sent, 0),
      ),
    busiestNodeCpu: Math.round(Math.max(...nodes1.map((c, i) => c - nodes0[i]!)) / 10 / serverMs),
    machineBusy: Math.round(
      ((machine1.busyTicks - machine0.busyTicks) / Math.max(1, machine1.totalTicks - machine0.totalTicks)) *
        100,
    ),
  }
}

/**
 * The conference node processes of a server: its workers (its direct children) with `sfu.workers` above 1,
 * else the server itself (one worker runs in the server's own process).
 */
function nodePids(serverPid: number): number[] {
  let children: number[] = []
  try {
    children = readFileSync(`/proc/${serverPid}/task/${serverPid}/children`, 'utf8')
      .split(' ')
      .filter((pid) => pid.trim() !== '')
      .map(Number)
  } catch {
    // no children file (kernel without CONFIG_PROC_CHILDREN): count the server whole
  }
  return children.length > 0 ? children : [serverPid]
}

export function workersReport(result: WorkersResult): string[] {
  const { options } = result
  const perParticipant = 50 + options.fps
  return [
    `workers: channels of ${PER_CHANNEL}, every participant publishing Opus 50 pkt/s + video ${options.fps} fps ` +
      `of ${options.frameBytes} B (${perParticipant} pkt/s, each forwarded to 3), sent through the native SRTP ` +
      `send and counted from the RTP headers (bench/cluster/cheapMedia.ts; sockets read by ${sinkState()}); ` +
      `${options.generators} load ` +
      `generator processes on the same ${cpus().length} cores; window ${options.windowMs} ms; load average ` +
      loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
    formatTable(
      [
        'workers',
        'channels',
        'participants',
        'forwarded pkt/s',
        'loss %',
        'sent % of nominal',
        'server CPU %',
        'busiest node CPU %',
        'generators CPU %',
        'server µs/participant-s',
        'generators µs/participant-s',
        'machine busy %',
      ],
      result.steps.map((s) => [
        String(s.workers),
        String(s.channels),
        String(s.participants),
        String(s.pps),
        fixed(s.loss * 100, 2),
        fixed(s.offered * 100, 0),
        String(s.serverCpu),
        String(s.busiestNodeCpu),
        String(s.generatorCpu),
        String(s.serverUsPerParticipant),
        String(s.generatorUsPerParticipant),
        String(s.machineBusy),
      ]),
    ),
    `sustained (below 1 % loss, sent ≥ 90 % of nominal): ${result.sustained[0]} participants with 1 worker, ${result.sustained[1]} with 2 ` +
      `(ratio ${fixed(result.ratio, 2)})`,
    `projected with the busiest node at a full core and the generators elsewhere: ${result.projected[0]} with ` +
      `1 worker, ${result.projected[1]} with 2 (ratio ${fixed(result.projectedRatio, 2)})`,
    ...result.endedOnNode.flatMap((onNode, i) => {
      if (onNode) return []
      const last = stepsOf(result.steps, i + 1).at(-1)
      const why =
        last && (failing(last) || last.joinFailures > 0)
          ? 'it ended on the generators or on other work, not on the node'
          : 'it ran out of steps (CLUSTER_BENCH_STEPS) before its node was busy'
      return [
        `WARNING: the ${i + 1}-worker ramp ended with its busiest node under ${NODE_SATURATED} % of a core: ` +
          `${why}, and the ratio says nothing`,
      ]
    }),
  ]
}

function sinkState(): string {
  const addon = rtpSinkAddon()
  return typeof addon === 'string' ? `dgram: ${addon}` : 'the pinhole_rtp_sink addon'
}
