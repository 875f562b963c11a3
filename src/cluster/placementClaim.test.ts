/**
 * A placement's claim while its first join is on its way (docs/scaling.md "Placement"): a session that is
 * answered with the channel's pending node must keep that node for the claim TTL from then on, or a third
 * session a moment later (the first claim expired, nobody has joined yet) places the channel elsewhere and
 * the two participants land on two nodes. Found by e2e/cluster/placement.test.ts on a loaded machine.
 * Real Redis, real NodeRegistry heartbeats.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testNodeOptions } from '../../e2e/support/clusterNode'
import { startRedis, type RedisServer } from '../../e2e/support/redisServer'
import { waitFor } from '../../e2e/support/tools'
import { createLogger } from '../platform/logger'
import { NodeRegistry, type NodeSample } from './nodeRegistry'
import { createRedisPlacement } from './placement'

const logger = createLogger('silent')
const CLAIM_MS = 1000

let redis: RedisServer
const closers: { close(): Promise<void> }[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  for (const closer of closers.reverse()) await closer.close()
  await redis?.stop()
})

async function node(id: string, sample: NodeSample): Promise<void> {
  const registry = await NodeRegistry.start(testNodeOptions(redis.url, id, () => sample, logger))
  closers.push(registry)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('a pending placement answered again', () => {
  it('keeps the node it names for a full claim TTL from that answer', async () => {
    const busy: NodeSample = { participants: 0, channels: [], forwardedPackets: 0 }
    await node('n1', busy)
    await node('n2', { participants: 0, channels: [], forwardedPackets: 0 })
    const placement = createRedisPlacement({ redis: redis.url, region: 'east', claimTtlMs: CLAIM_MS, logger })
    closers.push(placement)
    const channel = { appKey: 'app', name: 'pending' }

    const first = await placement.place(channel)
    expect(first.nodeId).toBe('n1')
    // n1 fills up with other calls; nobody has joined `pending` yet.
    busy.participants = 50
    await sleep(CLAIM_MS * 0.7)
    const second = await placement.place(channel)
    // Past the first claim's TTL, within the second answer's.
    await sleep(CLAIM_MS * 0.5)
    const third = await placement.place(channel)
    expect(third.nodeId).toBe(second.nodeId)
    // The heartbeats saw the load (a placement made after them goes to n2), so the answer above was the
    // claim, not a tie.
    await waitFor(
      () => placement.place({ appKey: 'app', name: 'other' }).then((p) => p.nodeId === 'n2'),
      'n2',
    )
  })
})
