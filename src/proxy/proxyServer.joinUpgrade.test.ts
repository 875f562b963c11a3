/**
 * The join sent with the WebSocket upgrade (issue 15, docs/proxy.md "Join with the upgrade"): the relay
 * verifies the `Pinhole-Join` header's token as the session API does and routes the channel itself — the
 * placement's node with a cluster, the configured upstream without — so no route ticket (no session answer)
 * is needed first, and the node answers `joined` and its offer without a client message. A bad join is
 * refused with the session API's code before any upstream connection: the upstream here is a TCP listener
 * that counts what reaches it. Real ProxyServers and ConferenceServers on loopback, real sockets.
 */
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { createLogger } from '../platform/logger'
import { mintJoinToken } from '../protocol/auth/joinToken'
import { PlacementError, type ChannelPlacement, type ChannelRef, type NodePlacement } from '../shared/cluster'
import { encodeJoinHeader } from '../protocol/auth/joinHeader'
import { ConferenceServer, SfuConfigSchema } from '../sfu'
import { TEST_APP, testProxyConfig } from '../../e2e/support/proxyConfig'
import { ProxyMetrics } from './metrics'
import { ProxyServer } from './proxyServer'

const OTHER_APP = { appKey: 'other-app', secret: 'other-app-secret-0123456789' }
const APPS = [TEST_APP, OTHER_APP]
const capabilities = { audio: false, video: false }

/** Every channel on the node the table names ('*': any channel); counts calls, throws queued failures. */
class TablePlacement implements ChannelPlacement {
  readonly table = new Map<string, NodePlacement>()
  readonly failures: string[] = []
  calls = 0
  place(channel: ChannelRef): Promise<NodePlacement> {
    this.calls++
    const failure = this.failures.shift()
    if (failure) return Promise.reject(new PlacementError(failure as never, `test: ${failure}`))
    const node = this.table.get(`${channel.appKey}/${channel.name}`) ?? this.table.get('*')
    return node ? Promise.resolve(node) : Promise.reject(new Error('test: no entry'))
  }
}

type Outcome =
  | { kind: 'refused'; status: number; body: unknown }
  | { kind: 'open'; accepted: boolean; types: string[] }
  | { kind: 'closed'; code: number; types: string[] }

/**
 * Upgrades on `proxy` with `header` as Pinhole-Join and sends nothing: the refusal, or the message types
 * received until the first offer (or the close).
 */
async function upgrade(proxy: ProxyServer, header: string, query = ''): Promise<Outcome> {
  const ws = new WebSocket(`wss://127.0.0.1:${proxy.addresses().tcp}/v1/signal${query}`, {
    ca: proxy.tlsCertificatePem,
    headers: { 'Pinhole-Join': header },
  })
  ws.on('error', () => undefined)
  let accepted = false
  const types: string[] = []
  try {
    return await new Promise<Outcome>((resolve) => {
      ws.once('unexpected-response', (_req, res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve({ kind: 'refused', status: res.statusCode ?? 0, body: jsonOrText(text) }))
      })
      ws.once('upgrade', (res) => (accepted = res.headers['pinhole-join'] === 'accepted'))
      ws.on('message', (data) => {
        types.push((JSON.parse(String(data)) as { type: string }).type)
        if (types.at(-1) === 'offer') resolve({ kind: 'open', accepted, types })
      })
      ws.once('close', (code) => resolve({ kind: 'closed', code, types }))
    })
  } finally {
    ws.terminate()
  }
}

const token = (
  channel: string,
  uid = 7,
  over: { appKey?: string; secret?: string; expired?: boolean } = {},
) =>
  mintJoinToken({
    appKey: over.appKey ?? TEST_APP.appKey,
    secret: over.secret ?? TEST_APP.secret,
    channel,
    uid,
    // An expired one: minted two minutes ago for one minute.
    ttlSeconds: 60,
    now: over.expired ? Date.now() - 120_000 : Date.now(),
  })
const joinHeader = async (channel: string, uid = 7, tokenChannel = channel, tokenUid = uid) =>
  encodeJoinHeader({ token: await token(tokenChannel, tokenUid), channel, uid, capabilities })

describe('ProxyServer: the join with the upgrade', () => {
  const nodes: ConferenceServer[] = []
  const placement = new TablePlacement()
  const metrics = new ProxyMetrics({ defaultMetrics: false })
  let trap: Server
  let trapAccepted = 0
  let cluster: ProxyServer
  let single: ProxyServer
  let trapped: ProxyServer
  const nodeUrl = (i: number): string => `ws://127.0.0.1:${nodes[i]!.port}/v1/signal`
  const channelsOn = (i: number): string[] => nodes[i]!.channels().map((c) => `${c.appKey}/${c.name}`)
  const start = (upstream: string, withPlacement = false, m = new ProxyMetrics({ defaultMetrics: false })) =>
    ProxyServer.start(
      testProxyConfig({ apps: APPS, proxy: { signal: { upstream } } }),
      { logger: createLogger('silent'), metrics: m },
      withPlacement ? { placement } : {},
    )

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const config = SfuConfigSchema.parse({ enabled: true, port: 0 })
      nodes.push(await ConferenceServer.start(config, { apps: APPS, logger: createLogger('silent') }))
    }
    trap = createServer((socket) => {
      trapAccepted++
      socket.destroy()
    })
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve))
    const trapUrl = `ws://127.0.0.1:${(trap.address() as AddressInfo).port}/v1/signal`
    cluster = await start(trapUrl, true, metrics)
    single = await start(nodeUrl(0))
    trapped = await start(trapUrl)
    placement.table.set('test-app/room-a', { nodeId: 'node-0', signalUrl: nodeUrl(0) })
    placement.table.set('test-app/room-b', { nodeId: 'node-1', signalUrl: nodeUrl(1) })
    placement.table.set('*', { nodeId: 'trap', signalUrl: trapUrl })
  })
  afterAll(async () => {
    await Promise.all([cluster, single, trapped].map((p) => p?.close()))
    await Promise.all(nodes.map((n) => n.close()))
    await new Promise((resolve) => trap?.close(resolve))
  })

  it('cluster: joined and the offer with no client message, on the node placement names, without a ticket', async () => {
    expect(await upgrade(cluster, await joinHeader('room-a'))).toEqual({
      kind: 'open',
      accepted: true,
      types: ['joined', 'offer'],
    })
    expect(await upgrade(cluster, await joinHeader('room-b', 8))).toMatchObject({
      kind: 'open',
      accepted: true,
    })
    expect(channelsOn(0)).toContain('test-app/room-a')
    expect(channelsOn(1)).toContain('test-app/room-b')
    expect(channelsOn(1)).not.toContain('test-app/room-a')
  })

  it('without a cluster: the configured upstream, the same way', async () => {
    const outcome = await upgrade(single, await joinHeader('room-single', 9))
    expect(outcome).toEqual({ kind: 'open', accepted: true, types: ['joined', 'offer'] })
    expect(channelsOn(0)).toContain('test-app/room-single')
  })

  it('refuses a bad join with the session API’s code before any upstream connection, cluster or not', async () => {
    const garbage = Buffer.from('{"v":1,"type":"leave"}').toString('base64url')
    const cases: [string, () => Promise<string>, number, string][] = [
      [
        'forged token',
        async () => joinWith(await token('room-x', 7, { secret: 'not-the-secret-0123456789' })),
        401,
        'token_invalid',
      ],
      [
        'expired token',
        async () => joinWith(await token('room-x', 7, { expired: true })),
        401,
        'token_expired',
      ],
      [
        'another app’s secret',
        async () => joinWith(await token('room-x', 7, { secret: OTHER_APP.secret })),
        401,
        'token_invalid',
      ],
      [
        'an app not configured',
        async () => joinWith(await token('room-x', 7, { appKey: 'nobody' })),
        401,
        'app_unknown',
      ],
      ['not a JWT', () => Promise.resolve(joinWith('not.a.jwt')), 401, 'token_malformed'],
      [
        'uid 0',
        async () =>
          encodeJoinHeader({ token: await token('room-x'), channel: 'room-x', uid: 0, capabilities }),
        400,
        'uid_invalid',
      ],
      [
        'token for channel A, join for B',
        () => joinHeader('room-b', 7, 'room-a'),
        401,
        'token_channel_mismatch',
      ],
      ['token for uid 7, join as 8', () => joinHeader('room-x', 8, 'room-x', 7), 401, 'token_uid_mismatch'],
      ['not base64url', () => Promise.resolve('{"v":1}'), 400, 'bad_request'],
      ['not a join', () => Promise.resolve(garbage), 400, 'bad_request'],
    ]
    const callsBefore = placement.calls
    for (const proxy of [cluster, trapped]) {
      for (const [name, header, status, code] of cases) {
        const outcome = await upgrade(proxy, await header())
        expect(outcome, name).toMatchObject({ kind: 'refused', status, body: { error: { code } } })
      }
    }
    expect(trapAccepted).toBe(0)
    expect(placement.calls).toBe(callsBefore)
    expect(metrics.snapshot().listenerEvents.signal_join_refused).toBe(cases.length)
    expect(channelsOn(1)).not.toContain('test-app/room-a')
  })

  it('answers 503 with the placement’s code when the cluster cannot place the channel', async () => {
    placement.failures.push('cluster_unavailable', 'no_node_available')
    for (const code of ['cluster_unavailable', 'no_node_available']) {
      const outcome = await upgrade(cluster, await joinHeader('room-a'))
      expect(outcome).toMatchObject({ kind: 'refused', status: 503, body: { error: { code } } })
    }
    expect(metrics.snapshot().listenerEvents.signal_placement_failed).toBe(2)
  })

  it('a route ticket beside the header is ignored: the verified join decides the node', async () => {
    // A ticket for room-a (node 0) cannot take a join for room-b anywhere but room-b's node.
    const ticketUrl = `?route=${'x'.repeat(20)}.${'y'.repeat(20)}`
    const outcome = await upgrade(cluster, await joinHeader('room-b', 11), ticketUrl)
    expect(outcome).toMatchObject({ kind: 'open', accepted: true })
    expect(channelsOn(0)).not.toContain('test-app/room-b')
  })

  it('a conference server that ignores the header gets the join as the first message', async () => {
    const received: string[] = []
    const old = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    old.on('connection', (ws) =>
      ws.on('message', (data) => {
        received.push(String(data))
        ws.send(JSON.stringify({ v: 1, type: 'offer', seq: 1, sdp: 'v=0', publish: [], subscriptions: [] }))
      }),
    )
    await new Promise((resolve) => old.once('listening', resolve))
    const proxy = await start(`ws://127.0.0.1:${(old.address() as AddressInfo).port}/v1/signal`)
    try {
      const header = await joinHeader('room-old', 12)
      expect(await upgrade(proxy, header)).toMatchObject({ kind: 'open', accepted: true })
      expect(received).toEqual([Buffer.from(header, 'base64url').toString()])
    } finally {
      await proxy.close()
      await new Promise((resolve) => old.close(resolve))
    }
  })
})

function joinWith(token: string): string {
  return encodeJoinHeader({ token, channel: 'room-x', uid: 7, capabilities })
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
