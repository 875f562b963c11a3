/**
 * Test-only: a region of the conference cluster on loopback, every part a real process — a real
 * `redis-server`, conference nodes (`pinhole-server start` with `sfu.enabled` and `cluster.redis`, one
 * node each) and a proxy (`pinhole-server start` with a `proxy:` section and the same `cluster.redis`, so
 * its session API places channels and its relay dials their nodes). The Region points at the proxy,
 * pinned by the fingerprint its started line logs.
 */
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { ClusterReader } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import type { Region } from '../../src/shared/engine'
import { TEST_APP, TEST_TURN_SECRET } from '../support/proxyConfig'
import { startRedis, type RedisServer } from '../support/redisServer'
import type { ServerConfigInput } from '../../src/server/config'
import { startServerProcess, type ServerProcess } from '../support/serverProcess'

export const LAB_REGION = 'lab'

export interface LabOptions {
  nodes: number
  heartbeatMs: number
  ttlMs: number
  /** Nodes: `cluster.drainMoveAfterMs` and `sfu.drainTimeoutMs`. */
  drainMoveAfterMs?: number
  drainTimeoutMs?: number
}

export interface LabNode {
  id: string
  process: ServerProcess
}

export interface ClusterLab {
  redis: RedisServer
  nodes: LabNode[]
  proxy: ServerProcess
  region: Region
  reader: ClusterReader
  token(channel: string, uid: number): Promise<string>
  /** The node holding `channel` in Redis now. */
  holder(channel: string): Promise<string | undefined>
  close(): Promise<void>
}

function cluster(
  redis: RedisServer,
  options: LabOptions,
  extra: Record<string, unknown> = {},
): NonNullable<ServerConfigInput['cluster']> {
  const { heartbeatMs, ttlMs } = options
  return { redis: redis.url, region: LAB_REGION, heartbeatMs, ttlMs, ...extra }
}

/**
 * A proxy of the cluster on loopback: OS-chosen ports, peers on 127.0.0.0/8, placing through `cluster`
 * (no `signal.upstream`: the route tickets name the nodes). `proxy` adds or overrides
 * fields of the proxy section (a certificate, rate limits).
 */
export function clusterProxyConfig(
  region: string,
  cluster: NonNullable<ServerConfigInput['cluster']>,
  proxy: Record<string, unknown> = {},
): ServerConfigInput {
  return {
    log: { level: 'info' },
    apps: [TEST_APP],
    proxy: {
      region,
      publicAddress: '127.0.0.1',
      listenHost: '127.0.0.1',
      ports: { udp: [0, 0], tcp: 0 },
      relay: { listenHost: '127.0.0.1', portRange: [40000, 49999] },
      turnSecret: TEST_TURN_SECRET,
      peers: { allow: ['127.0.0.0/8'], allowLoopback: true },
      ...proxy,
    },
    cluster,
    admin: { host: '127.0.0.1', port: 0 },
  } as ServerConfigInput
}

export async function startClusterLab(options: LabOptions): Promise<ClusterLab> {
  const redis = await startRedis()
  const started: ServerProcess[] = []
  const reader = await ClusterReader.connect(redis.url, createLogger('silent'))
  const close = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop()))
    await reader.close()
    await redis.stop()
  }
  try {
    const nodeConfig = (id: string): Record<string, unknown> => ({
      log: { level: 'info' },
      apps: [TEST_APP],
      sfu: {
        enabled: true,
        port: 0,
        workers: 1,
        keyframeMinIntervalMs: 50,
        ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
      },
      cluster: cluster(redis, options, {
        nodeId: id,
        ...(options.drainMoveAfterMs === undefined ? {} : { drainMoveAfterMs: options.drainMoveAfterMs }),
      }),
      admin: { host: '127.0.0.1', port: 0 },
    })
    const ids = Array.from({ length: options.nodes }, (_, i) => `node-${String.fromCharCode(97 + i)}`)
    const nodes = await Promise.all(
      ids.map(async (id) => {
        const process = await startServerProcess(nodeConfig(id))
        started.push(process)
        return { id, process }
      }),
    )
    const proxy = await startServerProcess(
      clusterProxyConfig(LAB_REGION, cluster(redis, options), {
        rateLimit: { unauthenticatedPerSecond: 1000, burst: 1000 },
      }),
    )
    started.push(proxy)
    const line = proxy.lines.find((l) => l.msg === 'started' && l.pid === proxy.pid)!
    const described = line['proxy'] as { ports: { udp: number[]; tcp: number }; tlsFingerprint: string }
    const region: Region = {
      id: LAB_REGION,
      name: 'Cluster lab',
      proxyHost: '127.0.0.1',
      ports: { udp: [described.ports.udp[0]!, described.ports.udp[1]!], tcp: described.ports.tcp },
      tlsFingerprintSha256: described.tlsFingerprint,
    }
    return {
      redis,
      nodes,
      proxy,
      region,
      reader,
      token: (channel, uid) => mintJoinToken({ ...TEST_APP, channel, uid, ttlSeconds: 300 }),
      holder: (channel) => reader.holder({ appKey: TEST_APP.appKey, name: channel }),
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
