import type { Logger } from '../platform/logger'
import { ClusterErrorCode, PlacementError } from '../shared/cluster'
import type { ChannelPlacement, ChannelRef, NodePlacement } from '../shared/cluster'
import { channelMember, clusterKeys, DEFAULT_PREFIX } from './keys'
import { createClusterRedis, errorText, redisAddress, whenReady } from './redisClient'

export interface RedisPlacementOptions {
  /** `cluster.redis`. */
  redis: string
  /** The proxy's region: channels are placed on this region's nodes only. */
  region: string
  /**
   * TTL of a fresh placement until the node's heartbeat takes the channel over (it then refreshes it with
   * its own TTL while the channel has participants). Long enough for the first join to arrive.
   */
  claimTtlMs?: number
  /** How long a node reported unreachable is skipped (default 5 s: about one node TTL). */
  unreachableSkipMs?: number
  logger: Logger
  prefix?: string
}

export const DEFAULT_CLAIM_TTL_MS = 15_000
export const DEFAULT_UNREACHABLE_SKIP_MS = 5_000

/** A ChannelPlacement that can be closed (the server command closes it on shutdown). */
export interface RedisPlacement extends ChannelPlacement {
  close(): Promise<void>
}

/**
 * The proxy's placement through Redis: one Lua script (scripts.ts PLACE_SCRIPT) answers "where does this
 * channel live" and places it on the least loaded node of the region on its first join, atomically, so two
 * proxies placing the same new channel at once get the same node. Never waits on a Redis that is down: the
 * call rejects within about a second with PlacementError `cluster_unavailable` (the proxy answers 503 and the
 * engine retries); the client reconnects in the background.
 */
export function createRedisPlacement(options: RedisPlacementOptions): RedisPlacement {
  const { logger, region } = options
  const prefix = clusterKeys(options.prefix ?? DEFAULT_PREFIX).prefix
  const claimTtlMs = options.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS
  const skipMs = options.unreachableSkipMs ?? DEFAULT_UNREACHABLE_SKIP_MS
  const redis = createClusterRedis(options.redis, logger)
  // Connect now, not on the first join; a Redis down at start only makes placements fail until it is up.
  redis.connect().catch((err: unknown) => {
    logger.warn(
      { err: errorText(err), redis: redisAddress(options.redis) },
      'cluster: redis not reachable yet',
    )
  })
  /** Node id → until when it is skipped (performance.now ms). */
  const skipped = new Map<string, number>()

  const skipList = (): string[] => {
    const now = performance.now()
    for (const [id, until] of skipped) if (until <= now) skipped.delete(id)
    return [...skipped.keys()]
  }

  return {
    async place(channel: ChannelRef): Promise<NodePlacement> {
      let answer: [string, string] | null
      try {
        await whenReady(redis)
        answer = await redis.pinholePlace(prefix, region, channelMember(channel), claimTtlMs, ...skipList())
      } catch (err) {
        throw new PlacementError(
          ClusterErrorCode.Unavailable,
          `the cluster store (Redis at ${redisAddress(options.redis)}) cannot be reached: ${errorText(err)}`,
        )
      }
      if (answer === null) {
        throw new PlacementError(
          ClusterErrorCode.NoNode,
          `no live conference node in region ${region} takes new channels (all full, draining or gone)`,
        )
      }
      const [nodeId, signalUrl] = answer
      return { nodeId, signalUrl }
    },
    unreachable(nodeId: string): void {
      skipped.set(nodeId, performance.now() + skipMs)
    },
    async close(): Promise<void> {
      redis.disconnect()
    },
  }
}
