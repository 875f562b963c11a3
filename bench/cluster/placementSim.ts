/**
 * bench:cluster's placement part (control plane only, no media): real Redis, real nodes (NodeRegistry
 * heartbeats from node host processes, bench/cluster/nodeHost.ts) and the proxy's real placement
 * (`createRedisPlacement`: the Lua script a proxy's session API runs for every join), two proxies per
 * region. A join storm places every participant and measures each placement call; then the placement is
 * checked (every channel on exactly one node, the spread per region) and one node after another is lost
 * (bench/cluster/nodeLoss.ts).
 */
import { loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { ClusterReader, createRedisPlacement, type RedisPlacement } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import type { ChannelRef } from '../../src/shared/cluster'
import { processCpuMicros } from '../../e2e/support/process'
import { SESSION_RETRY_DEFAULTS } from '../../src/engine/route/proxySessionClient'
import { startRedis } from '../../e2e/support/redisServer'
import { sleep } from '../../e2e/support/tools'
import { fixed, formatTable } from '../lib/table'
import { startNodeHost, type NodeHost, type NodeSpec } from './nodeHost'
import { loseNode, type NodeLoss } from './nodeLoss'
import { percentile, seededRandom, shuffle, spread } from './stats'

export interface PlacementSimOptions {
  regions: readonly string[]
  nodesPerRegion: number
  channels: number
  perChannel: number
  /** Joins started at once, every `burstGapMs` (open loop: a burst does not wait for the previous one). */
  burst: number
  burstGapMs: number
  heartbeatMs: number
  ttlMs: number
  seed: number
}

/** One simulated engine: its channel, its proxy (one of its region's two) and where it was placed. */
export interface Participant {
  channel: ChannelRef
  uid: number
  proxy: RedisPlacement
  nodeId?: string
}

export interface PlacementSimResult {
  latenciesMs: number[]
  /** Placement calls refused (503 `cluster_unavailable`/`no_node_available`), each retried as the engine does. */
  refused: number
  stormMs: number
  /** Redis's CPU over the storm: % of one core, and µs per placement (heartbeats included: an upper bound). */
  redisCpuPercent: number
  redisUsPerPlacement: number
  /** The bench process (the proxies' placement clients) over the storm: CPU % and event loop delay p99. */
  benchCpuPercent: number
  loopDelayP99Ms: number
  /** Channels whose participants were placed on more than one node (must be 0). */
  split: number
  /** Channel keys in Redis that name another node than the participants were placed on, or are missing. */
  mismatched: number
  /** Channels listed by no node or by more than one in `cluster status` (must be 0). */
  notOnExactlyOne: number
  regionSpread: {
    region: string
    channels: ReturnType<typeof spread>
    participants: ReturnType<typeof spread>
  }[]
  losses: NodeLoss[]
}

const logger = createLogger('silent')
const APP_KEY = 'bench'
/** The spread e2e/cluster/placement.test.ts accepts (issue 14 acceptance 1: within ±30 % of even). */
const SPREAD_BOUND = 0.3

export async function runPlacementSim(options: PlacementSimOptions): Promise<PlacementSimResult> {
  const redis = await startRedis()
  const hosts: NodeHost[] = []
  const proxies: RedisPlacement[] = []
  let reader: ClusterReader | undefined
  try {
    const { victims, hostOf } = await startNodes(redis.url, options, hosts)
    const regionProxies = new Map(
      options.regions.map((region) => {
        const pair = [0, 1].map(() =>
          createRedisPlacement({ redis: redis.url, region, unreachableSkipMs: options.ttlMs, logger }),
        )
        proxies.push(...pair)
        return [region, pair] as const
      }),
    )
    reader = await ClusterReader.connect(redis.url, logger)
    const participants = makeParticipants(options, regionProxies)
    const storm = await joinStorm(participants, options, hostOf, redis.pid)
    await sleep(2 * options.heartbeatMs + 200) // every node reports what joined it
    const checks = await checkPlacement(participants, options, reader)
    const losses: NodeLoss[] = []
    for (const [i, victim] of victims.entries()) {
      const host = hostOf.get(victim)
      if (host === undefined) continue
      const reported = i === 1
      losses.push(
        await loseNode({ participants, victim, host, hostOf, reported, reader, ttlMs: options.ttlMs }),
      )
    }
    return { ...storm, ...checks, losses }
  } finally {
    await reader?.close()
    await Promise.all(proxies.map((p) => p.close()))
    await Promise.all(
      hosts.map((h) => (h.child.exitCode === null && h.child.signalCode === null ? h.close() : undefined)),
    )
    await redis.stop()
  }
}

/**
 * Every node of every region, registered: most in one host process, and the last node of each of the first
 * two regions (the ones lost later) in a process of its own, to be SIGKILLed alone.
 */
async function startNodes(
  redis: string,
  options: PlacementSimOptions,
  hosts: NodeHost[],
): Promise<{ victims: string[]; hostOf: Map<string, NodeHost> }> {
  const specs = options.regions.flatMap((region) =>
    Array.from({ length: options.nodesPerRegion }, (_, i): NodeSpec => ({
      id: `${region}-n${i + 1}`,
      region,
    })),
  )
  const victims = options.regions.slice(0, 2).map((region) => `${region}-n${options.nodesPerRegion}`)
  const hostOf = new Map<string, NodeHost>()
  const groups = [
    specs.filter((s) => !victims.includes(s.id)),
    ...victims.map((v) => specs.filter((s) => s.id === v)),
  ]
  for (const nodes of groups.filter((g) => g.length > 0)) {
    const host = await startNodeHost({ redis, heartbeatMs: options.heartbeatMs, ttlMs: options.ttlMs, nodes })
    hosts.push(host)
    for (const { id } of nodes) hostOf.set(id, host)
  }
  return { victims, hostOf }
}

function makeParticipants(
  options: PlacementSimOptions,
  regionProxies: ReadonlyMap<string, RedisPlacement[]>,
): Participant[] {
  const participants: Participant[] = []
  for (let c = 0; c < options.channels; c++) {
    const region = options.regions[c % options.regions.length]!
    const pair = regionProxies.get(region)!
    for (let k = 0; k < options.perChannel; k++) {
      // The joins of one channel are split across the region's proxies (both place it: atomically the same).
      participants.push({
        channel: { appKey: APP_KEY, name: `${region}/c${c}` },
        uid: k + 1,
        proxy: pair[k % 2]!,
      })
    }
  }
  return shuffle(participants, seededRandom(options.seed))
}

/**
 * Places one participant through its proxy as the session API does, asked again on a 503 with the engine's
 * session retry delays (SESSION_RETRY_DEFAULTS); then it joins the node (the node reports it from its next
 * heartbeat on). Returns the latency of each placement call that answered.
 */
export async function placeAndJoin(
  participant: Participant,
  hostOf: ReadonlyMap<string, NodeHost>,
  onRefused: () => void,
): Promise<number> {
  for (
    let delay = SESSION_RETRY_DEFAULTS.firstDelayMs;
    ;
    delay = Math.min(SESSION_RETRY_DEFAULTS.maxDelayMs, delay * 2)
  ) {
    const started = performance.now()
    try {
      const { nodeId } = await participant.proxy.place(participant.channel)
      const latency = performance.now() - started
      participant.nodeId = nodeId
      hostOf.get(nodeId)?.join(nodeId, participant.channel, participant.uid)
      return latency
    } catch {
      onRefused()
      await sleep(delay)
    }
  }
}

async function joinStorm(
  participants: readonly Participant[],
  options: PlacementSimOptions,
  hostOf: ReadonlyMap<string, NodeHost>,
  redisPid: number,
): Promise<
  Pick<
    PlacementSimResult,
    | 'latenciesMs'
    | 'refused'
    | 'stormMs'
    | 'redisCpuPercent'
    | 'redisUsPerPlacement'
    | 'benchCpuPercent'
    | 'loopDelayP99Ms'
  >
> {
  let refused = 0
  const pending: Promise<number>[] = []
  const cpu0 = await processCpuMicros(redisPid)
  const bench0 = process.cpuUsage()
  // How late this process's event loop runs: what a placement's latency includes beside Redis's answer.
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  const started = performance.now()
  for (let i = 0; i < participants.length; i += options.burst) {
    const due = started + (i / options.burst) * options.burstGapMs
    await sleep(Math.max(0, due - performance.now()))
    for (const participant of participants.slice(i, i + options.burst)) {
      pending.push(placeAndJoin(participant, hostOf, () => refused++))
    }
  }
  const latenciesMs = await Promise.all(pending)
  const stormMs = performance.now() - started
  loop.disable()
  const bench = process.cpuUsage(bench0)
  const redisMicros = (await processCpuMicros(redisPid)) - cpu0
  return {
    latenciesMs,
    refused,
    stormMs,
    redisCpuPercent: redisMicros / 10 / stormMs,
    redisUsPerPlacement: redisMicros / latenciesMs.length,
    benchCpuPercent: (bench.user + bench.system) / 10 / stormMs,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
  }
}

const nameOf = (c: ChannelRef): string => c.name

/** Each channel on exactly one node, as the participants, the channel keys and `cluster status` all say. */
export async function checkPlacement(
  participants: readonly Participant[],
  options: PlacementSimOptions,
  reader: ClusterReader,
): Promise<Pick<PlacementSimResult, 'split' | 'mismatched' | 'notOnExactlyOne' | 'regionSpread'>> {
  const placedOn = new Map<string, Set<string>>()
  for (const p of participants) {
    const nodes = placedOn.get(p.channel.name) ?? new Set<string>()
    nodes.add(p.nodeId ?? '(none)')
    placedOn.set(p.channel.name, nodes)
  }
  const split = [...placedOn.values()].filter((nodes) => nodes.size !== 1).length
  const keys = new Map(
    (await reader.placedChannels()).map(({ channel, nodeId }) => [nameOf(channel), nodeId]),
  )
  const mismatched = [...placedOn].filter(([name, nodes]) => !nodes.has(keys.get(name) ?? '')).length
  const status = await reader.status()
  const listed = new Map<string, number>()
  for (const node of status.nodes) {
    for (const channel of node.channels) listed.set(nameOf(channel), (listed.get(nameOf(channel)) ?? 0) + 1)
  }
  const notOnExactlyOne = [...placedOn.keys()].filter((name) => listed.get(name) !== 1).length
  const regionSpread = options.regions.map((region) => {
    const nodes = status.nodes.filter((n) => n.region === region)
    return {
      region,
      channels: spread(nodes.map((n) => n.channels.length)),
      participants: spread(nodes.map((n) => n.load.participants)),
    }
  })
  return { split, mismatched, notOnExactlyOne, regionSpread }
}

/** The placement part's lines for the report. */
export function placementReport(options: PlacementSimOptions, result: PlacementSimResult): string[] {
  const { latenciesMs: l } = result
  const ms = (p: number) => fixed(percentile(l, p), 2)
  const nodes = options.regions.length * options.nodesPerRegion
  const maxDeviation = Math.max(...result.regionSpread.map((r) => r.channels.deviation))
  return [
    `placement: ${l.length} participants in ${options.channels} channels, ${options.regions.length} regions × ` +
      `${options.nodesPerRegion} nodes (${nodes}), 2 proxies per region; bursts of ${options.burst} every ` +
      `${options.burstGapMs} ms; heartbeat ${options.heartbeatMs} ms, TTL ${options.ttlMs} ms`,
    `join storm: ${fixed(result.stormMs / 1000, 1)} s, placement p50 ${ms(50)} ms, p90 ${ms(90)} ms, ` +
      `p99 ${ms(99)} ms, max ${ms(100)} ms; ${result.refused} refused (retried)`,
    `  Redis CPU ${fixed(result.redisCpuPercent, 0)} % of a core (${fixed(result.redisUsPerPlacement, 0)} µs per ` +
      `placement, heartbeats included); bench process (the 8 proxies' clients) CPU ` +
      `${fixed(result.benchCpuPercent, 0)} %, its event loop delay p99 ${fixed(result.loopDelayP99Ms, 1)} ms; ` +
      `load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    `correctness: ${result.split} channels split across nodes, ${result.mismatched} channel keys not naming ` +
      `the participants' node, ${result.notOnExactlyOne} channels not listed by exactly one node (all must be 0); ` +
      `channels per node within ${fixed(maxDeviation * 100, 0)} % of even in every region ` +
      `(${maxDeviation <= SPREAD_BOUND ? 'inside' : 'OUTSIDE'} the ±${SPREAD_BOUND * 100} % of the placement test)`,
    formatTable(
      ['region', 'channels/node min', 'max', 'dev %', 'participants/node min', 'max', 'dev %'],
      result.regionSpread.map((r) => [
        r.region,
        String(r.channels.min),
        String(r.channels.max),
        fixed(r.channels.deviation * 100, 1),
        String(r.participants.min),
        String(r.participants.max),
        fixed(r.participants.deviation * 100, 1),
      ]),
    ),
  ]
}
