import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startClusterNode, testNodeOptions } from '../../e2e/support/clusterNode'
import { startRedis } from '../../e2e/support/redisServer'
import type { RedisServer } from '../../e2e/support/redisServer'
import { waitFor } from '../../e2e/support/tools'
import { createLogger } from '../platform/logger'
import { ClusterErrorCode, PlacementError } from '../shared/cluster'
import type { ChannelRef } from '../shared/cluster'
import { ClusterReader } from './clusterStatus'
import { NodeRegistry } from './nodeRegistry'
import type { NodeRegistryOptions, NodeSample } from './nodeRegistry'
import { createRedisPlacement } from './placement'
import type { RedisPlacement } from './placement'

const logger = createLogger('silent')
const channel = (name: string): ChannelRef => ({ appKey: 'app', name })

let redis: RedisServer
let raw: Redis
let reader: ClusterReader
const closers: { close(): Promise<void> }[] = []

beforeAll(async () => {
  redis = await startRedis()
  raw = new Redis(redis.url, { lazyConnect: true })
  await raw.connect()
  reader = await ClusterReader.connect(redis.url, logger)
})
afterEach(async () => {
  for (const closer of closers.splice(0).reverse()) await closer.close()
  await raw.flushall()
})
afterAll(async () => {
  raw?.disconnect()
  await reader?.close()
  await redis?.stop()
})

async function node(id: string, sample: Partial<NodeSample> = {}, extra: Partial<NodeRegistryOptions> = {}) {
  // Property descriptors, not a spread: a test's getter (a growing packet counter) stays a getter.
  const full: NodeSample = Object.defineProperties(
    { participants: 0, channels: [], forwardedPackets: 0 },
    Object.getOwnPropertyDescriptors(sample),
  )
  const registry = await NodeRegistry.start(testNodeOptions(redis.url, id, () => full, logger, extra))
  closers.push(registry)
  return { registry, sample: full }
}

function placement(region = 'east', url = redis.url): RedisPlacement {
  const created = createRedisPlacement({ redis: url, region, logger })
  closers.push(created)
  return created
}

/** Rejects when `promise` has not settled within `ms`: an upper bound for "fails fast, never hangs". */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms),
    ),
  ])
}

describe('createRedisPlacement', () => {
  it('places a new channel on the least loaded node: participants, then id', async () => {
    await node('n1', { participants: 4 })
    await node('n2', { participants: 1 })
    await node('n3', { participants: 1 })
    const place = placement()

    // n2 and n3 tie on participants and packets/s: the lower id wins.
    expect(await place.place(channel('a'))).toEqual({ nodeId: 'n2', signalUrl: 'ws://127.0.0.1:7000/n2' })
    // n2 now has a placed channel awaiting its first join, which counts as one participant: n3 is lighter.
    expect((await place.place(channel('b'))).nodeId).toBe('n3')
    expect((await place.place(channel('c'))).nodeId).toBe('n2')
  })

  it('with equal participants, fewer forwarded packets/s wins', async () => {
    let forwarded = 0
    // n1 forwards 100,000 packets between any two heartbeats: a busy node.
    const busy = {
      participants: 2,
      channels: [],
      get forwardedPackets() {
        return (forwarded += 100_000)
      },
    }
    const n1 = await node('n1', busy)
    await node('n2', { participants: 2 })
    await n1.registry.heartbeat()
    expect((await reader.node('n1'))?.load.packetsPerSecond).toBeGreaterThan(0)

    expect((await placement().place(channel('a'))).nodeId).toBe('n2')
  })

  it('later joins go to the node that holds the channel, whatever the loads became', async () => {
    const n1 = await node('n1')
    await node('n2', { participants: 10 })
    const place = placement()
    expect((await place.place(channel('a'))).nodeId).toBe('n1')

    n1.sample.participants = 50
    n1.sample.channels = [channel('a')]
    await n1.registry.heartbeat()
    expect((await place.place(channel('a'))).nodeId).toBe('n1')
    expect((await placement().place(channel('a'))).nodeId).toBe('n1')
  })

  it('two proxies placing the same 50 new channels at once agree on every one, spread evenly', async () => {
    await node('n1')
    await node('n2')
    await node('n3')
    const [first, second] = [placement(), placement()]
    const names = Array.from({ length: 50 }, (_, i) => channel(`c${i}`))

    const [a, b] = await Promise.all([
      Promise.all(names.map((c) => first.place(c))),
      Promise.all(names.map((c) => second.place(c))),
    ])

    expect(b.map((p) => p.nodeId)).toEqual(a.map((p) => p.nodeId))
    for (const [i, c] of names.entries()) expect(await reader.holder(c)).toBe(a[i]?.nodeId)
    const counts = ['n1', 'n2', 'n3'].map((id) => a.filter((p) => p.nodeId === id).length)
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
  })

  it('skips draining and full nodes, and nodes of other regions; none left: no_node_available', async () => {
    const n1 = await node('n1')
    await node('n2', { participants: 3 }, { maxParticipants: 3 })
    await node('w1', {}, { region: 'west' })
    const place = placement()

    expect((await place.place(channel('a'))).nodeId).toBe('n1')
    await n1.registry.setDraining()
    const refused = place.place(channel('b'))
    await expect(refused).rejects.toBeInstanceOf(PlacementError)
    await expect(refused).rejects.toMatchObject({ code: ClusterErrorCode.NoNode })
  })

  it('a draining node keeps its channels (the call stays whole) until it releases them; then they go to a live one', async () => {
    const n1 = await node('n1')
    const place = placement()
    expect((await place.place(channel('a'))).nodeId).toBe('n1')
    await node('n2', { participants: 5 })

    await n1.registry.setDraining()
    expect((await place.place(channel('a'))).nodeId).toBe('n1')
    expect((await place.place(channel('b'))).nodeId).toBe('n2')
    await n1.registry.releaseAll()
    expect((await place.place(channel('a'))).nodeId).toBe('n2')
    expect(await reader.holder(channel('a'))).toBe('n2')
  })

  it('a killed node loses its channels after the TTL: the channel is placed again, the node unlisted', async () => {
    const killed = await startClusterNode({
      redis: redis.url,
      id: 'k1',
      region: 'east',
      heartbeatMs: 100,
      ttlMs: 600,
      participants: 0,
      channels: [channel('held')],
    })
    closers.push({ close: () => killed.stop() })
    await node('n2', { participants: 5 })
    const place = placement()
    expect((await place.place(channel('held'))).nodeId).toBe('k1')

    await killed.kill()
    await waitFor(async () => (await reader.node('k1')) === undefined, 'the killed node to expire', 5000)
    expect((await place.place(channel('held'))).nodeId).toBe('n2')
    expect((await reader.status()).nodes.map((n) => n.id)).toEqual(['n2'])
    expect(await raw.sismember('pinhole:region:east:nodes', 'k1')).toBe(0)
  })

  it('unreachable(node) places the channel elsewhere until the skip lapses', async () => {
    await node('n1')
    await node('n2', { participants: 5 })
    const place = createRedisPlacement({ redis: redis.url, region: 'east', logger, unreachableSkipMs: 300 })
    closers.push(place)
    expect((await place.place(channel('a'))).nodeId).toBe('n1')

    place.unreachable?.('n1')
    expect((await place.place(channel('a'))).nodeId).toBe('n2')
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect((await place.place(channel('b'))).nodeId).toBe('n1')
  })

  it('Redis down: cluster_unavailable without hanging; back up: placements work again', async () => {
    const own = await startRedis()
    closers.push({ close: () => own.stop() })
    const place = placement('east', own.url)
    const registry = await NodeRegistry.start({
      redis: own.url,
      id: 'n1',
      region: 'east',
      signalUrl: 'ws://127.0.0.1:7000/n1',
      mediaAddress: '127.0.0.1',
      heartbeatMs: 100,
      ttlMs: 1000,
      sample: () => ({ participants: 0, channels: [], forwardedPackets: 0 }),
      logger,
    })
    closers.push(registry)
    expect((await place.place(channel('a'))).nodeId).toBe('n1')

    await own.stop()
    const failed = within(place.place(channel('b')), 4000)
    await expect(failed).rejects.toBeInstanceOf(PlacementError)
    await expect(failed).rejects.toMatchObject({ code: ClusterErrorCode.Unavailable })

    await own.restart()
    await waitFor(
      () =>
        place.place(channel('b')).then(
          (p) => p.nodeId === 'n1',
          () => false,
        ),
      'a placement after Redis came back',
      5000,
    )
  })
})
