/**
 * Issue 15, step U (docs/engine.md "Join round trips"): the engine's signaling upgrade goes beside the
 * session request, carrying the join (`Pinhole-Join`), and the proxy places the channel for it itself —
 * it no longer waits for the session answer's route ticket. Shown structurally with a cluster proxy whose
 * placement holds every `place()` until two are under way: the session request's and the relay's. An
 * engine that upgraded only after the session answer would leave the session waiting for ever. Real
 * ProxyServer and ConferenceServer on loopback, real engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JoinStep } from '../../src/engine'
import { createLogger } from '../../src/platform/logger'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { ProxyMetrics, ProxyServer } from '../../src/proxy'
import type { ChannelPlacement, ChannelRef, NodePlacement } from '../../src/shared/cluster'
import { ConnectionState, TransportType, type Region } from '../../src/shared/engine'
import { ConferenceServer, SfuConfigSchema } from '../../src/sfu'
import { ErrorCode } from '../../src/shared/errors'
import { startCallStack } from '../support/callStack'
import { TEST_APP, testProxyConfig } from '../support/proxyConfig'
import { makePeer } from './harness'

/** Holds each place() until another one is under way too, then answers both with the one node. */
class PairedPlacement implements ChannelPlacement {
  readonly channels: string[] = []
  private waiting: (() => void)[] = []
  constructor(private readonly node: () => NodePlacement) {}
  async place(channel: ChannelRef): Promise<NodePlacement> {
    this.channels.push(channel.name)
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve)
      if (this.waiting.length < 2) return
      for (const release of this.waiting.splice(0)) release()
    })
    return this.node()
  }
}

let sfu: ConferenceServer
let proxy: ProxyServer
let region: Region
const metrics = new ProxyMetrics({ defaultMetrics: false })
const placement = new PairedPlacement(() => ({
  nodeId: 'node-0',
  signalUrl: `ws://127.0.0.1:${sfu.port}/v1/signal`,
}))

beforeAll(async () => {
  const logger = createLogger('silent')
  sfu = await ConferenceServer.start(SfuConfigSchema.parse({ enabled: true, port: 0 }), {
    apps: [TEST_APP],
    logger,
  })
  proxy = await ProxyServer.start(testProxyConfig(), { logger, metrics }, { placement })
  const { udp, tcp } = proxy.addresses()
  region = {
    id: 'cluster',
    name: 'Loopback cluster',
    proxyHost: '127.0.0.1',
    ports: { udp: [udp[0]!, udp[1]!], tcp },
    tlsFingerprintSha256: proxy.tlsFingerprint,
  }
})
afterAll(async () => {
  await proxy?.close()
  await sfu?.close()
})

const token = (channel: string, uid: number): Promise<string> =>
  mintJoinToken({ ...TEST_APP, channel, uid, ttlSeconds: 120 })

describe('the signaling upgrade beside the session request (issue 15, step U)', () => {
  for (const [name, mode] of [
    ['UDP proxy', TransportType.UDPProxy],
    ['TLS 443', TransportType.TCPProxy],
  ] as const) {
    it(`${name}: the relay places the channel while the session request does; the join connects`, async () => {
      const channel = `upgrade-${mode}`
      const steps: JoinStep[] = []
      const peer = makePeer({ region }, 3, mode, {
        joinTimeoutMs: 10_000,
        joinTimeline: (step) => steps.push(step),
      })
      try {
        const placedBefore = placement.channels.length
        expect(await peer.engine.joinChannel(await token(channel, 3), channel, 3)).toBe(0)
        expect(peer.engine.getConnectionState()).toBe(ConnectionState.Connected)
        // Both placed it at once: the session request, and the relay for the join in the upgrade.
        expect(placement.channels.slice(placedBefore)).toEqual([channel, channel])
        expect(sfu.channels().map((c) => c.name)).toContain(channel)
        // The one signaling connection of the join was the early one: nothing refused, none opened later.
        expect(metrics.snapshot().listenerEvents.signal_route_refused ?? 0).toBe(0)
        expect(steps).toContain('signalingOpen')
      } finally {
        await peer.engine.release()
      }
    })
  }
})

describe('an early upgrade the proxy refuses', () => {
  it('a token for another channel: the session is granted, the upgrade refused, and the join ends with the conference server’s refusal as before', async () => {
    const stack = await startCallStack({}, 'refused')
    const peer = makePeer(stack, 4, TransportType.UDPProxy)
    try {
      // The session API checks the token alone; the relay checks the join against it (401
      // token_channel_mismatch), and the engine then joins on the session's URL with a join message,
      // which the conference server refuses with the same code.
      const code = await peer.engine.joinChannel(await stack.token('room-a', 4), 'room-b', 4)
      expect(code).toBe(ErrorCode.ProxySessionTokenInvalid)
      expect(stack.proxyMetrics.snapshot().listenerEvents.signal_join_refused).toBe(1)
      expect(peer.errors.map((e) => e.detail ?? '')).toEqual([
        expect.stringMatching(/token_channel_mismatch/),
      ])
    } finally {
      await peer.engine.release()
      await stack.close()
    }
  })
})
