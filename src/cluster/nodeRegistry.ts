import type { Logger } from '../platform/logger'
import type { ChannelRef, NodeLoad, NodeRecord } from '../shared/cluster'
import { channelMember, clusterKeys, DEFAULT_PREFIX } from './keys'
import { connectClusterRedis, errorText, redisAddress, whenReady } from './redisClient'
import type { ClusterRedis } from './redisClient'

/** What the conference server reports at each heartbeat (read from its `health()` and `channels()`). */
export interface NodeSample {
  participants: number
  /** The channels with at least one participant now: the ones this node holds. */
  channels: readonly ChannelRef[]
  /** Forwarded packets since the process started (a counter: the registry turns it into packets/s). */
  forwardedPackets: number
}

export interface NodeRegistryOptions {
  /** `cluster.redis`. */
  redis: string
  id: string
  region: string
  signalUrl: string
  mediaAddress: string
  heartbeatMs: number
  /** TTL of the node key and of the channel keys it holds; a node silent this long is gone. */
  ttlMs: number
  /** The full ceilings (`cluster.maxParticipants`, `cluster.maxPacketsPerSecond`); absent: no ceiling. */
  maxParticipants?: number
  maxPacketsPerSecond?: number
  sample: () => NodeSample
  logger: Logger
  prefix?: string
  /** Wall clock for `startedAt`/`heartbeatAt` (ms since the epoch). */
  now?: () => number
}

/**
 * One conference node's entry in Redis (docs/scaling.md): registers at start, then every `heartbeatMs`
 * rewrites its record and load with a TTL and keeps the keys of the channels it holds alive. Every heartbeat
 * writes everything, so after Redis lost its memory (restart) the next one re-creates the node and re-claims
 * its live channels: calls in progress never notice. Heartbeats that fail (Redis down) are logged once per
 * outage and retried on the next tick.
 */
export class NodeRegistry {
  private readonly keys: ReturnType<typeof clusterKeys>
  private readonly now: () => number
  private readonly startedAt: number
  private timer: ReturnType<typeof setTimeout> | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private draining = false
  private released = false
  private closed = false
  /** Channels claimed by a heartbeat Redis has not confirmed gone yet: an emptied one is compare-and-deleted. */
  private held = new Set<string>()
  private last: { at: number; packets: number; cpu: NodeJS.CpuUsage }
  private load: NodeLoad = { participants: 0, channels: 0, packetsPerSecond: 0, cpu: 0 }
  private heartbeatAt = 0
  private outage = false
  /** The last heartbeat's live channels held by another node, as logged. */
  private conflicts = ''

  private constructor(
    private readonly redis: ClusterRedis,
    private readonly options: NodeRegistryOptions,
  ) {
    this.keys = clusterKeys(options.prefix ?? DEFAULT_PREFIX)
    this.now = options.now ?? Date.now
    this.startedAt = this.now()
    this.last = { at: performance.now(), packets: options.sample().forwardedPackets, cpu: process.cpuUsage() }
  }

  /** Connects and registers; rejects with a ClusterConnectError naming `cluster.redis` if Redis is down. */
  static async start(options: NodeRegistryOptions): Promise<NodeRegistry> {
    const redis = await connectClusterRedis(options.redis, options.logger)
    const registry = new NodeRegistry(redis, options)
    try {
      await registry.heartbeat()
    } catch (err) {
      redis.disconnect()
      throw err
    }
    registry.schedule()
    options.logger.info(
      { nodeId: options.id, region: options.region, redis: redisAddress(options.redis) },
      'cluster node registered',
    )
    return registry
  }

  get id(): string {
    return this.options.id
  }

  /** The record as this node last wrote it. */
  record(): NodeRecord {
    const { id, region, signalUrl, mediaAddress } = this.options
    return {
      id,
      region,
      signalUrl,
      mediaAddress,
      startedAt: this.startedAt,
      heartbeatAt: this.heartbeatAt,
      draining: this.draining,
      full: this.isFull(this.load),
      load: { ...this.load },
    }
  }

  /** One heartbeat now (serialized with the timer's): record, load, channel claims. Rejects if Redis fails. */
  heartbeat(): Promise<void> {
    const run = this.queue.then(() => this.beat())
    this.queue = run.catch(() => undefined)
    return run
  }

  /** No new channels from now on (SIGTERM); written at once, then by every heartbeat. */
  async setDraining(): Promise<void> {
    this.draining = true
    await this.heartbeat()
  }

  /**
   * Gives up every channel the node holds (compare-and-delete: one already placed elsewhere is left alone)
   * and stops claiming channels, so the next join of each is placed on another node (drain, move). Returns
   * how many channel keys were deleted.
   */
  async releaseAll(): Promise<number> {
    this.released = true
    const run = this.queue.then(() => this.redis.pinholeRelease(this.keys.prefix, this.options.id, 0))
    this.queue = run.catch(() => undefined)
    const released = await run
    this.held.clear()
    return released
  }

  /** Stops heart-beating and deregisters: the node, its channel set and the channel keys it holds go. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    try {
      await this.queue
      await this.redis.pinholeRelease(this.keys.prefix, this.options.id, 1)
    } catch (err) {
      // The keys expire after ttlMs anyway; a node stopping while Redis is down must still stop.
      this.options.logger.warn({ err: errorText(err) }, 'cluster: could not deregister; the node expires')
    } finally {
      this.redis.disconnect()
    }
  }

  private schedule(): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      this.heartbeat()
        .catch(() => undefined)
        .finally(() => this.schedule())
    }, this.options.heartbeatMs)
    this.timer.unref()
  }

  private async beat(): Promise<void> {
    const sample = this.options.sample()
    const live = this.released ? [] : sample.channels.map(channelMember)
    this.load = this.measure(sample)
    const heartbeatAt = this.now()
    const gone = [...this.held].filter((member) => !live.includes(member))
    const fields = this.fields(heartbeatAt)
    try {
      await whenReady(this.redis)
      const conflicts = await this.redis.pinholeHeartbeat(
        this.keys.prefix,
        this.options.id,
        this.options.region,
        this.options.ttlMs,
        fields.length / 2,
        ...fields,
        live.length,
        ...live,
        gone.length,
        ...gone,
      )
      this.heartbeatAt = heartbeatAt
      this.held = new Set(live.filter((member) => !conflicts.includes(member)))
      // Once per change, not every heartbeat: a draining node keeps such a channel until its calls move.
      const conflictKey = conflicts.join(' ')
      if (conflictKey !== this.conflicts && conflicts.length > 0) {
        this.options.logger.warn({ channels: conflicts }, 'cluster: channels held by another node')
      }
      this.conflicts = conflictKey
      if (this.outage)
        this.options.logger.info({ nodeId: this.options.id }, 'cluster: heartbeat back, node re-registered')
      this.outage = false
    } catch (err) {
      // Keep what was held: once Redis answers again, the emptied ones are still deleted.
      for (const member of live) this.held.add(member)
      if (!this.outage)
        this.options.logger.warn({ err: errorText(err) }, 'cluster: heartbeat failed; retrying')
      this.outage = true
      throw err
    }
  }

  private measure(sample: NodeSample): NodeLoad {
    const at = performance.now()
    const elapsedMs = Math.max(1, at - this.last.at)
    const cpu = process.cpuUsage(this.last.cpu)
    const packets = Math.max(0, sample.forwardedPackets - this.last.packets)
    this.last = { at, packets: sample.forwardedPackets, cpu: process.cpuUsage() }
    return {
      participants: sample.participants,
      channels: sample.channels.length,
      packetsPerSecond: Math.round((packets * 1000) / elapsedMs),
      cpu: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 1000,
    }
  }

  private isFull(load: NodeLoad): boolean {
    const { maxParticipants, maxPacketsPerSecond } = this.options
    return (
      (maxParticipants !== undefined && load.participants >= maxParticipants) ||
      (maxPacketsPerSecond !== undefined && load.packetsPerSecond >= maxPacketsPerSecond)
    )
  }

  /** The node hash, as flat field/value pairs (the status reader's `readNode` parses them back). */
  private fields(heartbeatAt: number): string[] {
    const { id, region, signalUrl, mediaAddress, heartbeatMs, ttlMs } = this.options
    const { load } = this
    const record: Record<string, string | number> = {
      id,
      region,
      signalUrl,
      mediaAddress,
      startedAt: this.startedAt,
      heartbeatAt,
      heartbeatMs,
      ttlMs,
      draining: this.draining ? 1 : 0,
      full: this.isFull(load) ? 1 : 0,
      participants: load.participants,
      channels: load.channels,
      packetsPerSecond: load.packetsPerSecond,
      cpu: load.cpu,
    }
    return Object.entries(record).flatMap(([key, value]) => [key, String(value)])
  }
}
