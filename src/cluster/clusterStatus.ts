import type { Logger } from '../platform/logger'
import type { ChannelRef, NodeRecord } from '../shared/cluster'
import { channelMember, clusterKeys, DEFAULT_PREFIX, parseChannelMember } from './keys'
import type { ClusterKeys } from './keys'
import { connectClusterRedis, whenReady } from './redisClient'
import type { ClusterRedis } from './redisClient'

/** One node as `pinhole-server cluster status` shows it. */
export interface NodeStatus extends NodeRecord {
  heartbeatMs: number
  ttlMs: number
  /** The channels whose key names this node (held, or placed and awaiting their first join), sorted. */
  channels: ChannelRef[]
}

export interface ClusterStatus {
  /** When it was read (ms since the epoch), for heartbeat ages. */
  readAt: number
  /** Every live node of every region, by region then id. */
  nodes: NodeStatus[]
}

/**
 * Read-only view of the cluster in Redis for the status command and tests (each read waits up to a second
 * for a reconnect, then fails like any cluster call). A node whose key expired is not
 * listed even if a region set still names it (the scripts prune those lazily).
 */
export class ClusterReader {
  private readonly keys: ClusterKeys

  private constructor(
    private readonly redis: ClusterRedis,
    prefix: string,
  ) {
    this.keys = clusterKeys(prefix)
  }

  /** Rejects with a ClusterConnectError naming `cluster.redis` when Redis is down. */
  static async connect(url: string, logger: Logger, prefix = DEFAULT_PREFIX): Promise<ClusterReader> {
    return new ClusterReader(await connectClusterRedis(url, logger), prefix)
  }

  async status(now = Date.now()): Promise<ClusterStatus> {
    await whenReady(this.redis)
    const regions = (await this.redis.smembers(this.keys.regions)).sort()
    const nodes: NodeStatus[] = []
    for (const region of regions) {
      const ids = (await this.redis.smembers(this.keys.regionNodes(region))).sort()
      for (const id of ids) {
        const node = await this.node(id)
        if (node !== undefined) nodes.push(node)
      }
    }
    return { readAt: now, nodes }
  }

  /** One node, or undefined when it is not registered (never was, deregistered, or its TTL ran out). */
  async node(id: string): Promise<NodeStatus | undefined> {
    await whenReady(this.redis)
    const hash = await this.redis.hgetall(this.keys.node(id))
    if (hash['id'] === undefined) return undefined
    const members = await this.redis.smembers(this.keys.nodeChannels(id))
    const holders = members.length > 0 ? await this.redis.mget(members.map((m) => this.keys.channel(m))) : []
    const channels = members
      .filter((_, i) => holders[i] === id)
      .sort()
      .map(parseChannelMember)
    return { ...parseNodeHash(hash), channels }
  }

  /** The id of the node a channel's key names, or undefined when the channel is not placed. */
  async holder(channel: ChannelRef): Promise<string | undefined> {
    await whenReady(this.redis)
    return (await this.redis.get(this.keys.channel(channelMember(channel)))) ?? undefined
  }

  /** Every placed channel key (`appKey`, `name` → node id), for checks that nothing stale is left. */
  async placedChannels(): Promise<{ channel: ChannelRef; nodeId: string }[]> {
    await whenReady(this.redis)
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', this.keys.channel('*'), 'COUNT', 500)
      keys.push(...batch)
      cursor = next
    } while (cursor !== '0')
    if (keys.length === 0) return []
    const holders = await this.redis.mget(keys)
    const prefixLength = this.keys.channel('').length
    return keys.flatMap((key, i) => {
      const nodeId = holders[i]
      return nodeId ? [{ channel: parseChannelMember(key.slice(prefixLength)), nodeId }] : []
    })
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}

function parseNodeHash(hash: Record<string, string>): Omit<NodeStatus, 'channels'> {
  const num = (key: string): number => Number(hash[key] ?? 0)
  return {
    id: hash['id'] ?? '',
    region: hash['region'] ?? '',
    signalUrl: hash['signalUrl'] ?? '',
    mediaAddress: hash['mediaAddress'] ?? '',
    startedAt: num('startedAt'),
    heartbeatAt: num('heartbeatAt'),
    heartbeatMs: num('heartbeatMs'),
    ttlMs: num('ttlMs'),
    draining: hash['draining'] === '1',
    full: hash['full'] === '1',
    load: {
      participants: num('participants'),
      channels: num('channels'),
      packetsPerSecond: num('packetsPerSecond'),
      cpu: num('cpu'),
    },
  }
}
