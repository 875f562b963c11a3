/**
 * Issue 14 item 4 (the proxy and engine side): a proxy whose cluster cannot place the channel answers the
 * session API 503 `cluster_unavailable` / `no_node_available` (docs/proxy.md §9), and the engine asks again
 * with backoff (docs/engine.md) rather than failing the join. A real ConferenceServer and ProxyServer on
 * loopback; the placement is a small in-test ChannelPlacement that fails a set number of times first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, requestProxySession } from '../../src/engine'
import { createLogger } from '../../src/platform/logger'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { ProxyMetrics, ProxyServer } from '../../src/proxy'
import { ConferenceServer, SfuConfigSchema } from '../../src/sfu'
import { PlacementError, type ChannelPlacement, type ClusterErrorCode } from '../../src/shared/cluster'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  type ConnectionReason,
  type ConnectionState,
  type Region,
} from '../../src/shared/engine'
import { ErrorCode } from '../../src/shared/errors'
import { TEST_APP, testProxyConfig } from '../support/proxyConfig'

let node: ConferenceServer
let proxy: ProxyServer
let metrics: ProxyMetrics
let region: Region
const failures: ClusterErrorCode[] = []
let placed = 0

beforeAll(async () => {
  const logger = createLogger('silent')
  node = await ConferenceServer.start(SfuConfigSchema.parse({ enabled: true, port: 0 }), {
    apps: [TEST_APP],
    logger,
  })
  const placement: ChannelPlacement = {
    place: () => {
      const failure = failures.shift()
      if (failure) return Promise.reject(new PlacementError(failure, `test: ${failure}`))
      placed++
      return Promise.resolve({ nodeId: 'node-1', signalUrl: `ws://127.0.0.1:${node.port}/v1/signal` })
    },
  }
  metrics = new ProxyMetrics({ defaultMetrics: false })
  proxy = await ProxyServer.start(testProxyConfig(), { logger, metrics }, { placement })
  const { udp, tcp } = proxy.addresses()
  region = {
    id: 'test',
    name: 'Loopback',
    proxyHost: '127.0.0.1',
    ports: { udp: [udp[0]!, udp[1]!], tcp },
    tlsFingerprintSha256: proxy.tlsFingerprint,
  }
})
afterAll(async () => {
  await proxy?.close()
  await node?.close()
})

describe('a join through a proxy whose cluster is not ready yet', () => {
  it('waits out 503 cluster_unavailable and no_node_available with backoff and ends Connected', async () => {
    failures.push('cluster_unavailable', 'cluster_unavailable', 'no_node_available')
    const engine = createEngine({ regions: [region] })
    const states: [ConnectionState, ConnectionReason][] = []
    const errors: number[] = []
    engine.on('connectionStateChanged', (state, reason) => states.push([state, reason]))
    engine.on('error', (error) => errors.push(error.code))
    engine.setRegion('test')
    engine.setCloudProxy(TransportType.TCPProxy)
    try {
      const token = await mintJoinToken({ ...TEST_APP, channel: 'retry', uid: 5, ttlSeconds: 60 })
      expect(await engine.joinChannel(token, 'retry', 5)).toBe(ErrorCode.Ok)
      expect(states.at(-1)).toEqual([S.Connected, R.JoinSucceed])
      expect(states.map(([state]) => state)).not.toContain(S.Failed)
      expect(errors).toEqual([])
      // The three failures went to the session requests and to the relay placing for the join in the
      // early upgrade (issue 15, step U: its 503 sends the engine to the session's signaling URL).
      const { sessionFailures, listenerEvents } = metrics.snapshot()
      const sessionRefused =
        (sessionFailures.cluster_unavailable ?? 0) + (sessionFailures.no_node_available ?? 0)
      expect(sessionRefused).toBeGreaterThanOrEqual(2)
      expect(sessionRefused + (listenerEvents.signal_placement_failed ?? 0)).toBe(3)
      expect(placed).toBeGreaterThanOrEqual(1)
      expect(placed).toBeLessThanOrEqual(2)
      expect(node.channels().map((c) => c.name)).toEqual(['retry'])
    } finally {
      await engine.leaveChannel()
      engine.release()
    }
  })

  it('fails with the refusal (30112, the 503 in its detail) when the cluster stays unavailable past the budget', async () => {
    failures.splice(0, failures.length, ...Array<ClusterErrorCode>(20).fill('no_node_available'))
    const before = metrics.snapshot().sessionFailures.no_node_available ?? 0
    const token = await mintJoinToken({ ...TEST_APP, channel: 'retry', uid: 6, ttlSeconds: 60 })
    const error = await requestProxySession(region, token, { retry: { budgetMs: 1000 } }).catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: ErrorCode.ProxySessionRefused })
    expect(error).toHaveProperty('detail', expect.stringMatching(/HTTP 503 no_node_available/))
    // Asked again after 250 ms and (when the answers are quick) after 500 more; a 1000 ms wait would end
    // past the budget.
    const asked = (metrics.snapshot().sessionFailures.no_node_available ?? 0) - before
    expect(asked).toBeGreaterThanOrEqual(2)
    expect(asked).toBeLessThanOrEqual(3)
    failures.splice(0)
  })
})
