import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { testNodeOptions } from '../../e2e/support/clusterNode'
import { startRedis } from '../../e2e/support/redisServer'
import type { RedisServer } from '../../e2e/support/redisServer'
import { waitFor } from '../../e2e/support/tools'
import { createLogger } from '../platform/logger'
import type { ChannelRef } from '../shared/cluster'
import { ClusterReader } from './clusterStatus'
import { NodeRegistry } from './nodeRegistry'
import type { NodeRegistryOptions, NodeSample } from './nodeRegistry'
import { ClusterConnectError } from './redisClient'

const logger = createLogger('silent')
const alpha: ChannelRef = { appKey: 'app', name: 'alpha' }
const beta: ChannelRef = { appKey: 'app', name: 'beta' }

let redis: RedisServer
let raw: Redis
let reader: ClusterReader
const registries: NodeRegistry[] = []

beforeAll(async () => {
  redis = await startRedis()
  raw = new Redis(redis.url, { lazyConnect: true })
  await raw.connect()
  reader = await ClusterReader.connect(redis.url, logger)
})
afterEach(async () => {
  for (const registry of registries.splice(0)) await registry.close()
  await raw.flushall()
})
afterAll(async () => {
  raw?.disconnect()
  await reader?.close()
  await redis?.stop()
})

/** A node whose load is whatever the test puts in `sample`. */
async function node(
  id: string,
  sample: NodeSample,
  extra: Partial<NodeRegistryOptions> = {},
): Promise<NodeRegistry> {
  const registry = await NodeRegistry.start(
    testNodeOptions(redis.url, id, () => sample, logger, extra, '10.0.0.1'),
  )
  registries.push(registry)
  return registry
}

describe('NodeRegistry', () => {
  it('registers its record and load with a TTL, and heartbeats the forwarded rate', async () => {
    const sample = { participants: 3, channels: [alpha], forwardedPackets: 0 }
    await node('n1', sample)

    const status = await reader.node('n1')
    expect(status).toMatchObject({
      id: 'n1',
      region: 'east',
      signalUrl: 'ws://10.0.0.1:7000/n1',
      mediaAddress: '10.0.0.1',
      draining: false,
      full: false,
      heartbeatMs: 100,
      ttlMs: 1000,
      load: { participants: 3, channels: 1 },
      channels: [alpha],
    })
    const ttl = await raw.pttl('pinhole:node:n1')
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(1000)

    sample.forwardedPackets = 50_000
    await waitFor(async () => ((await reader.node('n1'))?.load.packetsPerSecond ?? 0) > 0, 'a packet rate')
    await waitFor(async () => (await reader.node('n1'))?.load.packetsPerSecond === 0, 'the rate back at 0')
  })

  it('is full at a ceiling', async () => {
    await node('n1', { participants: 5, channels: [alpha], forwardedPackets: 0 }, { maxParticipants: 5 })
    expect((await reader.node('n1'))?.full).toBe(true)
  })

  it('keeps the keys of its live channels and compare-and-deletes the ones that emptied', async () => {
    const sample: NodeSample = { participants: 2, channels: [alpha, beta], forwardedPackets: 0 }
    const registry = await node('n1', sample)
    expect(await reader.holder(alpha)).toBe('n1')
    expect(await reader.holder(beta)).toBe('n1')

    sample.channels = [alpha]
    await registry.heartbeat()
    expect(await reader.holder(beta)).toBeUndefined()
    expect(await reader.holder(alpha)).toBe('n1')
    expect((await reader.node('n1'))?.channels).toEqual([alpha])
    // Still held after several TTLs' worth of heartbeats' refreshes would have let it lapse.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(await reader.holder(alpha)).toBe('n1')
  })

  it('never takes a channel another live node holds, nor deletes it when its own copy empties', async () => {
    await node('n1', { participants: 1, channels: [alpha], forwardedPackets: 0 })
    const sample: NodeSample = { participants: 1, channels: [alpha], forwardedPackets: 0 }
    const second = await node('n2', sample)
    expect(await reader.holder(alpha)).toBe('n1')

    sample.channels = []
    await second.heartbeat()
    expect(await reader.holder(alpha)).toBe('n1')
  })

  it('setDraining is written at once; releaseAll gives the channels up for good', async () => {
    const registry = await node('n1', { participants: 2, channels: [alpha, beta], forwardedPackets: 0 })

    await registry.setDraining()
    expect((await reader.node('n1'))?.draining).toBe(true)

    expect(await registry.releaseAll()).toBe(2)
    expect(await reader.holder(alpha)).toBeUndefined()
    await registry.heartbeat()
    expect(await reader.holder(alpha)).toBeUndefined()
    expect(await reader.node('n1')).toMatchObject({ draining: true, load: { participants: 2 }, channels: [] })
  })

  it('close deregisters the node and its channels', async () => {
    const registry = await node('n1', { participants: 1, channels: [alpha], forwardedPackets: 0 })
    await registry.close()

    expect(await reader.node('n1')).toBeUndefined()
    expect(await reader.holder(alpha)).toBeUndefined()
    expect((await reader.status()).nodes).toEqual([])
  })

  it('Redis down at start: a ClusterConnectError naming cluster.redis', async () => {
    const down = await startRedis()
    await down.stop()
    const start = node('n1', { participants: 0, channels: [], forwardedPackets: 0 }, { redis: down.url })

    await expect(start).rejects.toBeInstanceOf(ClusterConnectError)
    await expect(start).rejects.toThrow(`cluster.redis: cannot reach Redis at redis://127.0.0.1:${down.port}`)
  })

  it('after a Redis restart the next heartbeats re-register the node and re-claim its live channels', async () => {
    await node('n1', { participants: 2, channels: [alpha], forwardedPackets: 0 })
    await node('n2', { participants: 1, channels: [beta], forwardedPackets: 0 })

    await redis.restart()
    expect(await raw.exists('pinhole:node:n1')).toBe(0)

    await waitFor(
      async () => (await reader.status()).nodes.length === 2,
      'both nodes back in Redis after its restart',
      5000,
    )
    await waitFor(async () => (await reader.holder(beta)) === 'n2', 'beta re-claimed', 5000)
    expect(await reader.holder(alpha)).toBe('n1')
    expect((await reader.node('n1'))?.channels).toEqual([alpha])
  })
})
