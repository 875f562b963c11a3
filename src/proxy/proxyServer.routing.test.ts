/**
 * Routing through the proxy to conference nodes (issue 14 item 3, docs/proxy.md "Routing to conference
 * nodes"): with a ChannelPlacement the session answer's signaling URL carries a route ticket and the relay
 * dials the node it names. Two real conference servers are the nodes and two proxies share the TURN secret;
 * the placement is a small in-test object (the proxy's side of the contract; the Redis one is src/cluster's,
 * exercised end to end in e2e/cluster/placement.test.ts).
 */
import { request } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createLogger } from '../platform/logger'
import { mintJoinToken } from '../protocol/auth/joinToken'
import {
  PlacementError,
  type ChannelPlacement,
  type ChannelRef,
  type ClusterErrorCode,
  type NodePlacement,
} from '../shared/cluster'
import { ProxySessionInfoSchema } from '../shared/proxySession'
import { ConferenceServer, SfuConfigSchema } from '../sfu'
import { TEST_APP, testProxyConfig } from '../../e2e/support/proxyConfig'
import { mintRouteTicket, routeTicketKey } from './api/routeTicket'
import { ProxyMetrics } from './metrics'
import { ProxyServer } from './proxyServer'

const OTHER_APP = { appKey: 'other-app', secret: 'other-app-secret-0123456789' }
const APPS = [TEST_APP, OTHER_APP]

/** Places channels by a table the test fills; `failures` are thrown first, one per call. */
class TablePlacement implements ChannelPlacement {
  readonly table = new Map<string, NodePlacement>()
  readonly failures: ClusterErrorCode[] = []
  readonly unreachableNodes: string[] = []
  place(channel: ChannelRef): Promise<NodePlacement> {
    const failure = this.failures.shift()
    if (failure) return Promise.reject(new PlacementError(failure, `test: ${failure}`))
    const node = this.table.get(`${channel.appKey}/${channel.name}`)
    return node ? Promise.resolve(node) : Promise.reject(new Error('test: no entry'))
  }
  unreachable(nodeId: string): void {
    this.unreachableNodes.push(nodeId)
  }
}

function post(proxy: ProxyServer, token: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: proxy.addresses().tcp,
        path: '/v1/proxy/session',
        method: 'POST',
        ca: proxy.tlsCertificatePem,
        servername: 'localhost',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ token }))
  })
}

type Outcome =
  { kind: 'refused'; status: number } | { kind: 'closed'; code: number; reason: string } | { kind: 'joined' }

/** Opens `url` on `proxy`'s port and sends a join; how that ended (`whileJoined` runs before leaving). */
async function join(
  proxy: ProxyServer,
  url: string,
  token: string,
  channel: string,
  whileJoined: () => void = () => undefined,
): Promise<Outcome> {
  const path = new URL(url).pathname + new URL(url).search
  const ws = new WebSocket(`wss://127.0.0.1:${proxy.addresses().tcp}${path}`, {
    ca: proxy.tlsCertificatePem,
  })
  ws.on('error', () => undefined)
  const outcome = await new Promise<Outcome>((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve({ kind: 'refused', status: res.statusCode ?? 0 }))
    ws.once('open', () =>
      ws.send(
        JSON.stringify({
          v: 1,
          type: 'join',
          token,
          channel,
          uid: 7,
          capabilities: { audio: false, video: false },
        }),
      ),
    )
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'joined') resolve({ kind: 'joined' })
    })
    ws.once('close', (code, reason) => resolve({ kind: 'closed', code, reason: reason.toString() }))
  })
  if (outcome.kind === 'joined') whileJoined()
  ws.terminate()
  return outcome
}

const channelsOn = (node: ConferenceServer): string[] => node.channels().map((c) => `${c.appKey}/${c.name}`)

describe('ProxyServer with a ChannelPlacement: route tickets to conference nodes', () => {
  const nodes: ConferenceServer[] = []
  const proxies: ProxyServer[] = []
  const placement = new TablePlacement()
  const metrics = new ProxyMetrics({ defaultMetrics: false })
  const nodeUrl = (i: number): string => `ws://127.0.0.1:${nodes[i]!.port}/v1/signal`
  const token = (channel: string, app = TEST_APP): Promise<string> =>
    mintJoinToken({ appKey: app.appKey, secret: app.secret, channel, uid: 7, ttlSeconds: 60 })

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const config = SfuConfigSchema.parse({ enabled: true, port: 0 })
      nodes.push(await ConferenceServer.start(config, { apps: APPS, logger: createLogger('silent') }))
    }
    for (let i = 0; i < 2; i++) {
      const proxy = await ProxyServer.start(
        testProxyConfig({ apps: APPS }),
        {
          logger: createLogger('silent'),
          metrics: i === 0 ? metrics : new ProxyMetrics({ defaultMetrics: false }),
        },
        { placement },
      )
      proxies.push(proxy)
    }
    placement.table.set('test-app/room-a', { nodeId: 'node-0', signalUrl: nodeUrl(0) })
    placement.table.set('test-app/room-b', { nodeId: 'node-1', signalUrl: nodeUrl(1) })
  })
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()))
    await Promise.all(nodes.map((n) => n.close()))
  })

  async function session(proxy: ProxyServer, channel: string, app = TEST_APP): Promise<string> {
    const { status, json } = await post(proxy, await token(channel, app))
    expect(status).toBe(200)
    return ProxySessionInfoSchema.parse(json).signalUrl
  }

  it('signals each channel to the node placement names, with tickets any proxy of the region accepts', async () => {
    const urlA = await session(proxies[0]!, 'room-a')
    const urlB = await session(proxies[0]!, 'room-b')
    expect(urlA).toMatch(
      new RegExp(`^wss://127\\.0\\.0\\.1:${proxies[0]!.addresses().tcp}/v1/signal\\?route=`),
    )
    // room-b's ticket from the first proxy, used on the second.
    // Which nodes hold the channel while its participant is in (a left one lingers for its resume grace).
    const where: Record<string, number[]> = {}
    const record = (channel: string) => (): void => {
      where[channel] = nodes.flatMap((node, i) =>
        channelsOn(node).includes(`test-app/${channel}`) ? [i] : [],
      )
    }
    expect(await join(proxies[0]!, urlA, await token('room-a'), 'room-a', record('room-a'))).toEqual({
      kind: 'joined',
    })
    expect(await join(proxies[1]!, urlB, await token('room-b'), 'room-b', record('room-b'))).toEqual({
      kind: 'joined',
    })
    expect(where).toEqual({ 'room-a': [0], 'room-b': [1] })
  })

  it('refuses a connection without a ticket, a forged, a foreign or an expired one before any node hears of it', async () => {
    const good = new URL(await session(proxies[0]!, 'room-a'))
    const ticket = good.searchParams.get('route')!
    const [body, signature] = ticket.split('.') as [string, string]
    // The same body with node 1's address: the signature no longer matches.
    const tampered = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>
    tampered.u = nodeUrl(1)
    const forged = `${Buffer.from(JSON.stringify(tampered)).toString('base64url')}.${signature}`
    const otherKey = routeTicketKey('another-turn-secret-0123456789')
    const later = Date.now() + 60_000
    const foreign = mintRouteTicket(otherKey, {
      nodeId: 'n',
      signalUrl: nodeUrl(1),
      appKey: 'test-app',
      name: 'room-a',
      expiresAt: later,
    })
    const key = routeTicketKey('test-turn-secret-0123456789')
    const expired = mintRouteTicket(key, {
      nodeId: 'n',
      signalUrl: nodeUrl(1),
      appKey: 'test-app',
      name: 'room-a',
      expiresAt: Date.now() - 1,
    })
    for (const query of [
      '',
      `?route=${forged}`,
      `?route=${foreign}`,
      `?route=${expired}`,
      '?route=garbage',
    ]) {
      const outcome = await join(proxies[0]!, `wss://x/v1/signal${query}`, await token('room-a'), 'room-a')
      expect(outcome, query).toEqual({ kind: 'refused', status: 403 })
    }
    expect(channelsOn(nodes[1]!)).not.toContain('test-app/room-a')
    expect(metrics.snapshot().listenerEvents.signal_route_refused).toBe(5)
  })

  it("refuses a join for another channel or another app's channel than the ticket's", async () => {
    placement.table.set('test-app/room-c', { nodeId: 'node-0', signalUrl: nodeUrl(0) })
    const urlC = await session(proxies[0]!, 'room-c')
    // A valid token for room-d (placement would put it elsewhere) cannot ride room-c's ticket onto node 0.
    const otherChannel = await join(proxies[0]!, urlC, await token('room-d'), 'room-d')
    expect(otherChannel).toEqual({
      kind: 'closed',
      code: 4003,
      reason: 'the route ticket is for another channel',
    })
    // Another app's channel of the same name.
    const otherApp = await join(proxies[0]!, urlC, await token('room-c', OTHER_APP), 'room-c')
    expect(otherApp).toEqual({ kind: 'closed', code: 4003, reason: 'the route ticket is for another app' })
    expect(channelsOn(nodes[0]!)).not.toContain('test-app/room-d')
    expect(channelsOn(nodes[0]!)).not.toContain('other-app/room-c')
    expect(metrics.snapshot().listenerEvents.signal_route_mismatch).toBe(2)
  })

  it('answers 503 with the placement error code when the cluster cannot place the channel', async () => {
    placement.failures.push('cluster_unavailable', 'no_node_available')
    for (const code of ['cluster_unavailable', 'no_node_available']) {
      const { status, json } = await post(proxies[1]!, await token('room-a'))
      expect(status).toBe(503)
      expect(json).toMatchObject({ error: { code } })
    }
    // Whatever else placement throws is the cluster failing too.
    const { status, json } = await post(proxies[1]!, await token('room-unplaced'))
    expect(status).toBe(503)
    expect(json).toMatchObject({ error: { code: 'cluster_unavailable' } })
    // The token is checked first: an invalid one never reaches placement.
    const bad = await post(proxies[1]!, 'not.a.jwt')
    expect(bad.status).toBe(401)
  })

  it('tells placement about a node it cannot dial and closes the client with 1014', async () => {
    placement.table.set('test-app/room-dead', {
      nodeId: 'node-dead',
      signalUrl: 'ws://127.0.0.1:9/v1/signal',
    })
    const url = await session(proxies[0]!, 'room-dead')
    const outcome = await join(proxies[0]!, url, await token('room-dead'), 'room-dead')
    expect(outcome).toMatchObject({ kind: 'closed', code: 1014 })
    expect(placement.unreachableNodes).toEqual(['node-dead'])
  })
})
