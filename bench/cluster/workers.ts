/**
 * bench:cluster's workers part: a real `pinhole-server` (sfu.enabled, cluster.redis) with `sfu.workers: 1`,
 * then `sfu.workers: 2`, on this machine; channels of 4 participants who all publish (load generators,
 * bench/cluster/loadGen.ts) are added step by step and the loss measured over a window at each step. The
 * participants sustained below 1 % loss per configuration, and the ratio 2 workers ÷ 1 worker. Server CPU
 * (the parent and its workers, from /proc) and the generators' CPU are printed per step: they share the
 * machine's cores.
 */
import { cpus, loadavg } from 'node:os'
import { processCpuMicros } from '../../e2e/support/process'
import { startRedis, type RedisServer } from '../../e2e/support/redisServer'
import { startServerProcess } from '../../e2e/support/serverProcess'
import { freePort, sleep } from '../../e2e/support/tools'
import { fixed, formatTable } from '../lib/table'
import { BENCH_APP, PER_CHANNEL, startLoadGen, type LoadGen } from './loadGen'
import { sustained } from './stats'

export interface WorkersOptions {
  /** Channels of 4 at each step. */
  steps: readonly number[]
  windowMs: number
  generators: number
  fps: number
  frameBytes: number
}

export interface WorkersStep {
  workers: number
  channels: number
  participants: number
  /** Forwarded packets/s the participants expected (sent × receivers), and the loss among them. */
  pps: number
  loss: number
  /** % of one core over the window: the server (parent + workers) and the load generators together. */
  serverCpu: number
  generatorCpu: number
  /** Whole machine busy over the window, % of all cores (other work included). */
  machineBusy: number
  joinFailures: number
}

export interface WorkersResult {
  options: WorkersOptions
  steps: WorkersStep[]
  /** Participants sustained below 1 % loss with 1 worker and with 2. */
  sustained: [number, number]
  ratio: number
}

const REGION = 'bench'
const MAX_LOSS = 0.01

export async function runWorkersBench(options: WorkersOptions): Promise<WorkersResult> {
  const redis = await startRedis()
  try {
    const steps: WorkersStep[] = []
    for (const workers of [1, 2]) steps.push(...(await ramp(workers, options, redis)))
    const of = (workers: number) =>
      sustained(
        steps.filter((s) => s.workers === workers),
        MAX_LOSS,
      )
    const result: [number, number] = [of(1), of(2)]
    return { options, steps, sustained: result, ratio: result[0] > 0 ? result[1] / result[0] : 0 }
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
      await sleep(2000) // renegotiations and keyframes settle
      const participants = added.reduce((n, a) => n + a.participants, 0)
      const row = await measure(workers, channels, server.pid, generators, options.windowMs)
      rows.push({ ...row, participants, joinFailures })
      console.log(
        `  workers ${workers}: ${participants} participants, loss ${fixed(row.loss * 100, 2)} %, server CPU ` +
          `${row.serverCpu} %, generators ${row.generatorCpu} %` +
          (joinFailures ? `, ${joinFailures} joins failed (${added.find((a) => a.reason)?.reason})` : ''),
      )
      if (joinFailures > 0 || row.loss >= 5 * MAX_LOSS) break
    }
  } finally {
    await Promise.all(generators.map((g) => g.close()))
    await server.stop()
  }
  return rows
}

async function measure(
  workers: number,
  channels: number,
  serverPid: number,
  generators: readonly LoadGen[],
  windowMs: number,
): Promise<Omit<WorkersStep, 'joinFailures' | 'participants'>> {
  const server0 = await processCpuMicros(serverPid)
  const machine0 = machineTicks()
  const started = performance.now()
  const windows = await Promise.all(generators.map((g) => g.window(windowMs)))
  const elapsedMs = Math.min(...windows.map((w) => w.elapsedMs))
  // The server's CPU up to now also covers the 300 ms the generators wait for packets in flight.
  const serverMs = performance.now() - started
  const server1 = await processCpuMicros(serverPid)
  const machine1 = machineTicks()
  const expected = windows.reduce((n, w) => n + w.expected, 0)
  const received = windows.reduce((n, w) => n + w.received, 0)
  const generatorMicros = windows.reduce((n, w) => n + w.cpuMicros, 0)
  return {
    workers,
    channels,
    pps: Math.round((expected * 1000) / elapsedMs),
    loss: expected === 0 ? 1 : Math.max(0, 1 - received / expected),
    serverCpu: Math.round((server1 - server0) / 10 / serverMs),
    generatorCpu: Math.round(generatorMicros / 10 / elapsedMs),
    machineBusy: Math.round(
      ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * 100,
    ),
  }
}

/** Whole-machine CPU time of all cores (os.cpus(), ms): busy = everything but idle. */
function machineTicks(): { busy: number; total: number } {
  const os = cpus()
  let busy = 0
  let total = 0
  for (const cpu of os) {
    const { user, nice, sys, idle, irq } = cpu.times
    busy += user + nice + sys + irq
    total += user + nice + sys + idle + irq
  }
  return { busy, total }
}

export function workersReport(result: WorkersResult): string[] {
  const { options } = result
  const perParticipant = 50 + options.fps
  return [
    `workers: channels of ${PER_CHANNEL}, every participant publishing Opus 50 pkt/s + video ${options.fps} fps ` +
      `of ${options.frameBytes} B (${perParticipant} pkt/s, each forwarded to 3); ${options.generators} load ` +
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
        'server CPU %',
        'generators CPU %',
        'machine busy %',
      ],
      result.steps.map((s) => [
        String(s.workers),
        String(s.channels),
        String(s.participants),
        String(s.pps),
        fixed(s.loss * 100, 2),
        String(s.serverCpu),
        String(s.generatorCpu),
        String(s.machineBusy),
      ]),
    ),
    `sustained below 1 % loss: ${result.sustained[0]} participants with 1 worker, ${result.sustained[1]} with 2 ` +
      `(ratio ${fixed(result.ratio, 2)})`,
  ]
}
