// Proxy relay vs coturn (docs/proxy.md §8): the same turnutils_uclient UDP load, same echo peer, same machine,
// same run, interleaved step by step. `npm run bench:proxy`. Never part of the test suite.
//
// Environment overrides: BENCH_STEPS="10,20,40" (clients per step), BENCH_MESSAGES (per client, default
// 8000), BENCH_INTERVAL_MS (uclient -z, default 1 ≈ 1000 msg/s per client), BENCH_LENGTH (bytes, 100),
// BENCH_RETRIES (extra runs of a lossy step before it ends a server's ramp, default 1),
// BENCH_WORKERS (our proxy's worker processes, default: one per core on the native fast path, two per
// core on the JS path), BENCH_FAST_PATH (our proxy.fastPath: auto (default), native or js).
import { startCoturnUnderTest } from '../e2e/support/coturn'
import { BUILD_COMMAND, loadRelayAddon } from '../src/proxy'
import { availableParallelism } from 'node:os'
import { startOurProxy } from '../e2e/support/ourProxy'
import { machineCpuSync, processCpuMicros, processCpuMicrosSync } from '../e2e/support/process'
import type { TurnServerUnderTest } from '../e2e/support/serverUnderTest'
import { runUclient, startEchoPeer, UclientError } from '../e2e/support/uclient'
import type { EchoPeer, UclientResult } from '../e2e/support/uclient'
import { sleep } from '../e2e/support/tools'
import { sustainedRate } from './lib/rate'
import type { CounterSample } from './lib/rate'
import { fixed, formatTable, thousands } from './lib/table'

interface BenchConfig {
  steps: number[]
  messages: number
  intervalMs: number
  length: number
  /** Extra runs of a lossy step before it ends a server's ramp (same rule for both servers). */
  retries: number
}

interface StepResult {
  server: string
  clients: number
  /** Offered relayed packets/s: clients × (1000 / interval) echoes, each relayed twice. */
  offeredPps: number
  /** Relayed packets/s sustained over the best ≥2 s window, from our clock and uclient's counters. */
  relayedPps: number | undefined
  /** Server CPU (% of one core) over that same window. */
  cpuPercent: number | undefined
  /** Whole machine busy (% of all cores) over that window: ~100 means the box, not the server, is the limit. */
  machineBusyPercent: number | undefined
  /** Server CPU time for the whole run divided by packets relayed (sent + received echoes). */
  cpuUsPerPacket: number | undefined
  sent: number
  received: number
  lossPercent: number
  rttAvgMs: number
  rttMaxMs: number
  wallS: number
  error?: string
}

// Which UDP path our proxy relays on (proxy.fastPath, docs/proxy.md §8); the proxy process reads it from
// the environment it inherits. 'auto' takes the native fast path when the addon is built.
const FAST_PATH = fastPathOf(process.env['BENCH_FAST_PATH'] ?? 'auto')
const NATIVE = FAST_PATH === 'native' || (FAST_PATH === 'auto' && loadRelayAddon().ok)
// coturn runs one relay thread per core. On the JS path a Node worker spends much of each packet in
// syscalls and wake-ups, and the kernel's 4-tuple hash spreads clients unevenly over few sockets: two
// workers per core measured best there (docs/proxy.md §7). The native path batches, so one per core.
const WORKERS = Number(process.env['BENCH_WORKERS'] ?? (NATIVE ? 1 : 2) * availableParallelism())

function fastPathOf(text: string): 'auto' | 'native' | 'js' {
  if (text === 'auto' || text === 'native' || text === 'js') return text
  throw new Error(`BENCH_FAST_PATH must be auto, native or js, got ${text}`)
}
function envNumber(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got ${text}`)
  return value
}

function readConfig(): BenchConfig {
  const steps = (process.env['BENCH_STEPS'] ?? '10,20,40,50,60,70,80,90,100,120')
    .split(',')
    .map((s) => Number(s.trim()))
  if (steps.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('BENCH_STEPS: comma-separated integers ≥ 1')
  return {
    steps,
    messages: envNumber('BENCH_MESSAGES', 8000),
    intervalMs: envNumber('BENCH_INTERVAL_MS', 1),
    length: envNumber('BENCH_LENGTH', 100),
    retries: envNumber('BENCH_RETRIES', 1),
  }
}

async function runStep(
  server: TurnServerUnderTest,
  peer: EchoPeer,
  clients: number,
  config: BenchConfig,
): Promise<StepResult> {
  const pid = server.pid
  const samples: CounterSample[] = []
  const cpuBefore = pid === undefined ? undefined : await processCpuMicros(pid)
  const offeredPps = (2 * clients * 1000) / Math.max(config.intervalMs, 1)
  const base = { server: server.name, clients, offeredPps }
  let result: UclientResult
  try {
    result = await runUclient({
      host: server.host,
      port: server.udpPorts[0] ?? 0,
      transport: 'udp',
      peerHost: server.peerHost,
      peerPort: peer.port,
      auth: { restSecret: server.restSecret, username: 'bench' },
      clients,
      messages: config.messages,
      intervalMs: config.intervalMs,
      length: config.length,
      noRtcp: true,
      onProgress: (sample) =>
        samples.push({
          atMs: sample.atMs,
          // Each echo received crossed the relay twice (client → peer, peer → client).
          count: sample.received * 2,
          ...(pid === undefined ? {} : { cpuMicros: processCpuMicrosSync(pid) }),
          machine: machineCpuSync(),
        }),
    })
  } catch (err) {
    if (!(err instanceof UclientError)) throw err
    const error = err.message.split('\n')[0] ?? 'uclient failed'
    return {
      ...base,
      relayedPps: undefined,
      cpuPercent: undefined,
      machineBusyPercent: undefined,
      cpuUsPerPacket: undefined,
      sent: 0,
      received: 0,
      lossPercent: 100,
      rttAvgMs: 0,
      rttMaxMs: 0,
      wallS: 0,
      error,
    }
  }
  const cpuAfter = pid === undefined ? undefined : await processCpuMicros(pid)
  const window = sustainedRate(samples)
  const relayed = result.sent + result.received
  return {
    ...base,
    relayedPps: window?.perSecond,
    cpuPercent: window?.cpuPercent,
    machineBusyPercent: window?.machineBusyPercent,
    cpuUsPerPacket:
      cpuBefore !== undefined && cpuAfter !== undefined && relayed > 0
        ? (cpuAfter - cpuBefore) / relayed
        : undefined,
    sent: result.sent,
    received: result.received,
    lossPercent: result.lossPercent,
    rttAvgMs: result.rttAvgMs,
    rttMaxMs: result.rttMaxMs,
    wallS: result.wallMs / 1000,
  }
}

const lossless = (step: StepResult): boolean =>
  step.error === undefined && step.sent > 0 && step.received === step.sent

function row(step: StepResult): string[] {
  return [
    step.server,
    String(step.clients),
    thousands(step.offeredPps),
    thousands(step.relayedPps),
    fixed(step.lossPercent, 3),
    fixed(step.rttAvgMs, 2),
    String(step.rttMaxMs),
    fixed(step.cpuPercent, 0),
    fixed(step.machineBusyPercent, 0),
    fixed(step.cpuUsPerPacket, 2),
    fixed(step.wallS, 1),
    step.error ?? '',
  ]
}

const HEADERS = [
  'server',
  'clients',
  'offered pkt/s',
  'relayed pkt/s',
  'loss %',
  'rtt avg ms',
  'rtt max',
  'cpu %',
  'box busy %',
  'cpu µs/pkt',
  'wall s',
  'error',
]

/** The highest step without loss: the server's peak. */
function peakOf(steps: StepResult[]): StepResult | undefined {
  let peak: StepResult | undefined
  for (const step of steps)
    if (lossless(step) && (peak === undefined || step.clients > peak.clients)) peak = step
  return peak
}

async function startOurs(): Promise<TurnServerUnderTest> {
  process.env['PINHOLE__proxy__fastPath'] = FAST_PATH
  return startOurProxy({ relayPorts: [40000, 44999], workers: WORKERS })
}

async function main(): Promise<void> {
  const config = readConfig()
  console.log(
    `# bench:proxy — UDP, ${config.messages} msgs × ${config.length} B per client, -z ${config.intervalMs}, ` +
      `steps ${config.steps.join(',')} clients, ${config.retries} retry of a lossy step; ` +
      `relayed pkt/s = 2 × echoes/s over the best ≥2 s window`,
  )
  const addon = loadRelayAddon()
  console.log(
    `# ours: ${WORKERS} worker(s), UDP on the ${NATIVE ? 'native ChannelData fast path' : 'JS path'}` +
      (addon.ok ? '' : ` (addon: ${addon.reason}; build it with \`${BUILD_COMMAND}\`)`),
  )
  const ours = await startOurs()
  // Same secret for both, so uclient's REST credentials are built identically.
  const coturn = await startCoturnUnderTest(ours ? { restSecret: ours.restSecret } : {})
  const peer = await startEchoPeer()
  const servers = ours ? [coturn, ours] : [coturn]
  const results = new Map<string, StepResult[]>(servers.map((s) => [s.name, []]))
  const finished = new Set<string>()
  try {
    console.log(formatTable(HEADERS, []))
    for (const clients of config.steps) {
      // Interleave the servers step by step so machine-load drift hits both alike.
      for (const server of servers) {
        if (finished.has(server.name)) continue
        // On a shared machine a neighbour's burst can cost a few packets at any load, so a lossy step
        // is run again (BENCH_RETRIES times, the same for every server); every run is in the table.
        let step: StepResult | undefined
        for (let run = 0; run <= config.retries && (step === undefined || !lossless(step)); run++) {
          step = await runStep(server, peer, clients, config)
          results.get(server.name)?.push(step)
          console.log(
            formatTable(HEADERS, [row(step)])
              .split('\n')
              .slice(2)
              .join('\n'),
          )
          await sleep(1000)
        }
        // A step lossy on every run ends that server's ramp: the peak is the step before.
        if (step === undefined || !lossless(step)) finished.add(server.name)
      }
      if (servers.every((s) => finished.has(s.name))) break
    }
  } finally {
    await peer.stop()
    await coturn.stop()
    await ours?.stop()
  }

  const all = servers.flatMap((s) => results.get(s.name) ?? [])
  console.log('\n' + formatTable(HEADERS, all.map(row)))
  const coturnPeak = peakOf(results.get(coturn.name) ?? [])
  const oursPeak = ours ? peakOf(results.get(ours.name) ?? []) : undefined
  const oursAtCoturnPeak = ours
    ? (results.get(ours.name) ?? [])
        .filter((step) => step.clients === coturnPeak?.clients)
        .sort((a, b) => a.lossPercent - b.lossPercent)[0]
    : undefined
  const round = (value: number | undefined, digits: number): number | null =>
    value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits))
  const ratio =
    oursPeak?.relayedPps !== undefined && coturnPeak?.relayedPps !== undefined && coturnPeak.relayedPps > 0
      ? oursPeak.relayedPps / coturnPeak.relayedPps
      : undefined
  console.log(
    `\n# peaks (highest step with 0% loss): coturn ${coturnPeak?.clients ?? '-'} clients ` +
      `${thousands(coturnPeak?.relayedPps)} pkt/s; ours ${ours ? `${oursPeak?.clients ?? '-'} clients ` : ''}` +
      `${ours ? thousands(oursPeak?.relayedPps) + ' pkt/s' : 'not run'}; ratio ours/coturn ${fixed(ratio, 3)}`,
  )
  console.log(
    JSON.stringify({
      ours_pps: round(oursPeak?.relayedPps, 0),
      coturn_pps: round(coturnPeak?.relayedPps, 0),
      ratio: round(ratio, 3),
      // Ours at coturn's peak load (0 when ours is at least as good); ours' own peak has 0% loss by definition.
      ours_loss: round(oursAtCoturnPeak?.lossPercent, 3),
      ours_rtt_ms: round(oursPeak?.rttAvgMs, 3),
      ours_cpu_us_per_pkt: round(oursPeak?.cpuUsPerPacket, 2),
      coturn_rtt_ms: round(coturnPeak?.rttAvgMs, 3),
      coturn_cpu_us_per_pkt: round(coturnPeak?.cpuUsPerPacket, 2),
      ours_fast_path: NATIVE ? 'native' : 'js',
      ours_workers: WORKERS,
    }),
  )
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
