/**
 * A proxy process with `cluster.redis` (issue 14 acceptance 4, the proxy's side; docs/scaling.md): the
 * server command hands the proxy a Redis placement, so its session API places each channel on a node of
 * its region. Real redis-server, a real `pinhole-server start` proxy process, the engine's own session
 * client; the node is a NodeRegistry in this process (a registry entry is all placement reads). A Redis that
 * is down — at the proxy's start or later — is a 503 `cluster_unavailable` the engine retries, never a hang
 * or a crash; once Redis is back the same proxy places again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClusterReader, NodeRegistry } from '../../src/cluster'
import { requestProxySession } from '../../src/engine'
import { createLogger } from '../../src/platform/logger'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import type { Region } from '../../src/shared/engine'
import { EngineError } from '../../src/shared/errors'
import { TEST_APP } from '../support/proxyConfig'
import { startRedis, type RedisServer } from '../support/redisServer'
import { waitFor } from '../support/tools'
import { startServerProcess, type ServerProcess } from '../support/serverProcess'
import { clusterProxyConfig } from './clusterLab'

const logger = createLogger('silent')
const REGION = 'east'

describe('a proxy placing through Redis', () => {
  let redis: RedisServer
  let proxy: ServerProcess
  let region: Region
  let registry: NodeRegistry | undefined
  let reader: ClusterReader | undefined

  beforeAll(async () => {
    redis = await startRedis()
    // Down before the proxy starts: the proxy must start anyway.
    await redis.stop()
    proxy = await startServerProcess(
      clusterProxyConfig(REGION, { redis: redis.url, heartbeatMs: 200, ttlMs: 1000 }),
    )
    const line = proxy.lines.find((l) => l.msg === 'started' && l.pid === proxy.pid)!
    const described = line['proxy'] as { ports: { udp: number[]; tcp: number }; tlsFingerprint: string }
    region = {
      id: REGION,
      name: 'East',
      proxyHost: '127.0.0.1',
      ports: { udp: [described.ports.udp[0]!, described.ports.udp[1]!], tcp: described.ports.tcp },
      tlsFingerprintSha256: described.tlsFingerprint,
    }
  })
  afterAll(async () => {
    await registry?.close()
    await reader?.close()
    await proxy?.stop()
    await redis?.stop()
  })

  /** One session request, no retry: the proxy's own answer. */
  async function session(channel: string): Promise<string> {
    const token = await mintJoinToken({ ...TEST_APP, channel, uid: 7, ttlSeconds: 300 })
    try {
      await requestProxySession(region, token, { retry: { budgetMs: 0 } })
      return 'ok'
    } catch (err) {
      // The engine's error: a catalogue message, the proxy's answer in `detail`.
      if (err instanceof EngineError) return err.detail ?? err.message
      throw err
    }
  }

  it('Redis down since the proxy started: 503 cluster_unavailable', async () => {
    expect(await session('first')).toMatch(/HTTP 503 cluster_unavailable: .*Redis/)
  })

  it('Redis up with a node: the session places the channel on it', async () => {
    await redis.restart()
    registry = await NodeRegistry.start({
      redis: redis.url,
      id: 'node-a',
      region: REGION,
      signalUrl: 'ws://127.0.0.1:7000/v1/signal',
      mediaAddress: '127.0.0.1',
      heartbeatMs: 200,
      ttlMs: 1000,
      sample: () => ({ participants: 0, channels: [], forwardedPackets: 0 }),
      logger,
    })
    reader = await ClusterReader.connect(redis.url, logger)

    await waitFor(async () => (await session('standup')) === 'ok', 'a session once Redis is up', 10_000)
    expect(await reader.holder({ appKey: TEST_APP.appKey, name: 'standup' })).toBe('node-a')
  })

  it('Redis stopped mid-run: 503 cluster_unavailable; back: placing again', async () => {
    await redis.stop()
    expect(await session('later')).toMatch(/HTTP 503 cluster_unavailable/)

    await redis.restart()
    // The node's heartbeat re-registers it in the emptied Redis; the proxy's client reconnects by itself.
    await waitFor(async () => (await session('later')) === 'ok', 'a session after Redis came back', 10_000)
    expect(await reader!.holder({ appKey: TEST_APP.appKey, name: 'later' })).toBe('node-a')
  })
})
