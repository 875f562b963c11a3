/**
 * Cluster bench (`npm run bench:cluster`, docs/scaling.md "Measured"): two parts, both against a real
 * `redis-server` on a free loopback port (started and stopped here).
 *
 * 1. Placement (control plane only, bench/cluster/placementSim.ts): 4 regions × 8 simulated nodes
 *    (NodeRegistry heartbeats, the TTL and claim scripts) and two proxies per region (the proxy's
 *    `createRedisPlacement`); 10,000 participants of 2,500 channels of 4 join in open-loop bursts, each a
 *    placement call as the session API makes it → p50/p99 latency; then every channel is checked to be on
 *    exactly one node and the spread per region is printed; then one node is SIGKILLed with placement
 *    learning of it only from its key's TTL (`replace_ms`, the engines re-placing themselves with the real
 *    engine's reconnect cadence, bench/cluster/nodeLoss.ts), and another with the proxies marking it
 *    unreachable as their relays do (`replace_reported_ms`).
 * 2. Workers (bench/cluster/workers.ts): a real `pinhole-server` with `sfu.enabled`, `cluster.redis` and
 *    `sfu.workers: 1`, then `sfu.workers: 2`; channels of 4 participants who all publish synthetic media
 *    (werift test clients in load generator processes on the same machine; their media is sent through the
 *    native SRTP send and counted from the RTP headers without decryption, bench/cluster/cheapMedia.ts) are
 *    added step by step, the loss every participant sees measured at each; the participants sustained
 *    (below 1 % loss, with the senders sending at least 90 % of their nominal packets) per configuration,
 *    and their ratio. The load generators share the machine's cores with the server: their CPU is printed
 *    beside the server's and its nodes', also per participant-second.
 *
 * The last line is one JSON object: {workers_ratio, workers1_participants, workers2_participants,
 * workers_ratio_projected (each configuration's busiest node at a full core, the generators elsewhere),
 * workers_ended_on_node ([1 worker, 2 workers]: whether the ramp ended with its busiest node at ≥ 70 % of a
 * core; false: it ended on the generators or other work and the ratio is not a measurement),
 * placement_p50_ms, placement_p99_ms, replace_ms, replace_reported_ms, ttl_ms, split (channels found on
 * more than one node or on none, must be 0), max_spread (the largest deviation from even of a region's
 * channels per node, a fraction; the placement acceptance test allows 0.3)}.
 *
 * Options (env): CLUSTER_BENCH_PARTS=placement,workers (either or both),
 * CLUSTER_BENCH_CHANNELS=2500, CLUSTER_BENCH_REGIONS=4, CLUSTER_BENCH_NODES=8 (per region),
 * CLUSTER_BENCH_BURST=250 and CLUSTER_BENCH_BURST_GAP_MS=100 (joins started at once, and how often),
 * CLUSTER_BENCH_HEARTBEAT_MS=1000 and CLUSTER_BENCH_TTL_MS=5000 (the `cluster:` defaults),
 * CLUSTER_BENCH_SEED=1 (join order);
 * CLUSTER_BENCH_STEPS="4,8,12,16,20,24,28,32,36,40,44,48,52,56,60,64,72,80,88,96,104,112,120,128,136" (channels of 4 per step of the
 * workers part),
 * CLUSTER_BENCH_WINDOW_MS=5000, CLUSTER_BENCH_GENERATORS=2 (load generator processes),
 * CLUSTER_BENCH_WORKERS=1,2 (the `sfu.workers` compared),
 * CLUSTER_BENCH_FPS=15 and CLUSTER_BENCH_FRAME_BYTES=1000 (each participant's video, one packet a frame,
 * plus Opus at 50 packets/s), CLUSTER_BENCH_PROFILE=<dir> (a V8 CPU profile of each generator's windows),
 * CLUSTER_BENCH_SEND=native|js (the generators' send path: the addon's publisher, or RtpOut on werift's
 * sender; bench/cluster/cheapMedia.ts).
 */
import { loadavg } from 'node:os'
import { percentile } from './cluster/stats'
import { placementReport, runPlacementSim, type PlacementSimResult } from './cluster/placementSim'
import { formatTable, fixed } from './lib/table'
import { runWorkersBench, workersReport, type WorkersResult } from './cluster/workers'

const env = (name: string, fallback: number): number =>
  Number(process.env[`CLUSTER_BENCH_${name}`] ?? fallback)
const PARTS = (process.env.CLUSTER_BENCH_PARTS ?? 'placement,workers').split(',')
const REGION_NAMES = [
  'eu-west',
  'us-east',
  'ap-south',
  'sa-east',
  'eu-north',
  'us-west',
  'ap-east',
  'af-south',
]

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')

async function main(): Promise<void> {
  console.log(`load average before: ${load()} (2 cores, shared with other work)`)
  let placement: PlacementSimResult | undefined
  let workers: WorkersResult | undefined
  const ttlMs = env('TTL_MS', 5000)
  if (PARTS.includes('placement')) {
    const options = {
      regions: REGION_NAMES.slice(0, env('REGIONS', 4)),
      nodesPerRegion: env('NODES', 8),
      channels: env('CHANNELS', 2500),
      perChannel: 4,
      burst: env('BURST', 250),
      burstGapMs: env('BURST_GAP_MS', 100),
      heartbeatMs: env('HEARTBEAT_MS', 1000),
      ttlMs,
      seed: env('SEED', 1),
    }
    placement = await runPlacementSim(options)
    for (const line of placementReport(options, placement)) console.log(line)
    console.log(
      formatTable(
        [
          'lost node',
          'proxies told',
          'channels',
          'participants',
          'channels placed again ms',
          'all back ms',
          'dead answers',
          'split',
          'listed after TTL',
        ],
        placement.losses.map((l) => [
          l.victim,
          l.reported ? 'yes (relay)' : 'no (TTL)',
          String(l.channels),
          String(l.participants),
          fixed(l.replaceMs, 0),
          fixed(l.allBackMs, 0),
          String(l.deadAnswers),
          String(l.split),
          l.listedAfterTtl ? 'yes' : 'no',
        ]),
      ),
    )
  }
  if (PARTS.includes('workers')) {
    workers = await runWorkersBench({
      steps: (
        process.env.CLUSTER_BENCH_STEPS ??
        '4,8,12,16,20,24,28,32,36,40,44,48,52,56,60,64,72,80,88,96,104,112,120,128,136'
      )
        .split(',')
        .map(Number),
      configs: (process.env.CLUSTER_BENCH_WORKERS ?? '1,2').split(',').map(Number),
      windowMs: env('WINDOW_MS', 5000),
      generators: env('GENERATORS', 2),
      fps: env('FPS', 15),
      frameBytes: env('FRAME_BYTES', 1000),
    })
    for (const line of workersReport(workers)) console.log(line)
  }
  console.log(`load average after: ${load()}`)
  const lossOf = (reported: boolean) => placement?.losses.find((l) => l.reported === reported)
  const split = placement
    ? placement.split +
      placement.mismatched +
      placement.notOnExactlyOne +
      placement.losses.reduce((n, l) => n + l.split, 0)
    : null
  const round = (value: number | undefined, digits = 2) =>
    value === undefined ? null : Number(value.toFixed(digits))
  console.log(
    JSON.stringify({
      workers_ratio: workers ? round(workers.ratio) : null,
      workers1_participants: workers?.sustained[0] ?? null,
      workers2_participants: workers?.sustained[1] ?? null,
      workers_ratio_projected: workers ? round(workers.projectedRatio) : null,
      workers_ended_on_node: workers?.endedOnNode ?? null,
      placement_p50_ms: round(placement && percentile(placement.latenciesMs, 50)),
      placement_p99_ms: round(placement && percentile(placement.latenciesMs, 99)),
      replace_ms: round(lossOf(false)?.replaceMs, 0),
      replace_reported_ms: round(lossOf(true)?.replaceMs, 0),
      ttl_ms: ttlMs,
      split,
      max_spread: placement
        ? round(Math.max(...placement.regionSpread.map((r) => r.channels.deviation)))
        : null,
    }),
  )
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
