import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { createRedisPlacement, NodeRegistry, type NodeSample, type RedisPlacement } from '../cluster'
import type { ChannelSnapshot, SfuHealth } from '../sfu'
import { SIGNAL_PATH } from '../shared/proxySession'
import type { ServerConfig } from './config'
import { drainClusterNode, type DrainingServer } from './nodeDrain'

/** What the cluster reads of a started conference server (ConferenceServer). */
export interface ClusterSfu {
  readonly port: number
  health(): SfuHealth
  channels(): ChannelSnapshot[]
}

/** `<hostname>-<8 hex>`: unique per start, so a restarted node never inherits a dead one's entry. */
export function generatedNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 40) || 'node'
  return `${host}-${randomBytes(4).toString('hex')}`
}

/** The node's load as the registry samples it at each heartbeat. */
export function sfuSample(sfu: ClusterSfu): NodeSample {
  const { details } = sfu.health()
  const channels = sfu.channels().filter((c) => c.participants.length > 0)
  return {
    participants: details.participants,
    channels: channels.map(({ appKey, name }) => ({ appKey, name })),
    forwardedPackets: details.forwardedPackets,
  }
}

/**
 * With `cluster`, registers the started conference server as a node of the region (docs/scaling.md): its
 * signaling URL is `sfu.announcedAddress` with the port it really listens on. Rejects with a
 * ClusterConnectError naming `cluster.redis` when Redis cannot be reached. Without `cluster`: undefined.
 */
export async function registerNode(
  config: ServerConfig,
  sfu: ClusterSfu,
  logger: Logger,
): Promise<NodeRegistry | undefined> {
  const { cluster } = config
  if (cluster === undefined) return undefined
  const address = config.sfu.announcedAddress
  const host = isIP(address) === 6 ? `[${address}]` : address
  return NodeRegistry.start({
    redis: cluster.redis,
    id: cluster.nodeId ?? generatedNodeId(),
    region: cluster.region,
    signalUrl: `ws://${host}:${sfu.port}${SIGNAL_PATH}`,
    mediaAddress: address,
    heartbeatMs: cluster.heartbeatMs,
    ttlMs: cluster.ttlMs,
    ...(cluster.maxParticipants !== undefined ? { maxParticipants: cluster.maxParticipants } : {}),
    ...(cluster.maxPacketsPerSecond !== undefined
      ? { maxPacketsPerSecond: cluster.maxPacketsPerSecond }
      : {}),
    sample: () => sfuSample(sfu),
    logger: logger.child({ component: 'cluster' }),
  })
}

/**
 * With `cluster`, the proxy's ChannelPlacement through Redis for its region (ProxyServerOptions.placement).
 * Never fails at start: while Redis is down, sessions answer 503 `cluster_unavailable`.
 */
export function clusterPlacement(config: ServerConfig, logger: Logger): RedisPlacement | undefined {
  const { cluster } = config
  if (cluster === undefined) return undefined
  return createRedisPlacement({
    redis: cluster.redis,
    region: cluster.region,
    // A node whose dial failed is skipped about as long as a dead node takes to expire.
    unreachableSkipMs: cluster.ttlMs,
    logger: logger.child({ component: 'cluster' }),
  })
}

/** A started conference server as `start` stops it. */
export interface StoppableSfu extends ClusterSfu, DrainingServer {
  drain(options?: { timeoutMs?: number }): Promise<void>
}

/** The conference server's stop path with its cluster entry around it (the same as before without one). */
export interface ClusterNodeLifecycle {
  /** Fields for the `started` log line: the node id and region, with a cluster. */
  describe(): Record<string, unknown>
  /** SIGTERM. */
  drain(): Promise<void>
  close(): Promise<void>
}

/**
 * Registers `sfu` as a node (with `cluster`) and returns how to stop both. SIGTERM marks the node draining
 * in Redis at once, so placement sends no new channel here while the calls drain; then the node
 * deregisters. If Redis cannot be reached at start, the conference server is closed again and the
 * ClusterConnectError (naming `cluster.redis`) propagates: `start` exits 1.
 */
export async function clusterNode(
  config: ServerConfig,
  sfu: StoppableSfu,
  logger: Logger,
): Promise<ClusterNodeLifecycle> {
  let node: NodeRegistry | undefined
  try {
    node = await registerNode(config, sfu, logger)
  } catch (err) {
    await sfu.close()
    throw err
  }
  return {
    describe: () => (node ? { nodeId: node.id, region: config.cluster?.region } : {}),
    async drain() {
      if (!node || !config.cluster) {
        await sfu.drain()
        return sfu.close()
      }
      // Draining in Redis at once, the calls moved to other nodes later (nodeDrain.ts).
      const { drainMoveAfterMs: moveAfterMs } = config.cluster
      await drainClusterNode(sfu, node, { moveAfterMs, drainTimeoutMs: config.sfu.drainTimeoutMs, logger })
    },
    async close() {
      await sfu.close()
      await node?.close()
    },
  }
}
