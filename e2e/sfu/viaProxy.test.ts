/**
 * Issue 3, acceptance 5: the three-client call of call.test.ts with everything going through the cloud
 * proxy, as a desktop behind the whitelist does it (docs/architecture.md, "A call's life"): each client asks the proxy for a session
 * over HTTPS (pinned certificate), signals over wss through the proxy's `/v1/signal`, and gives werift only
 * the proxy's TURN server for its transport (UDP, TCP or TLS) with `iceTransportPolicy: 'relay'`.
 */
import { request } from 'node:https'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProxyMetrics, ProxyServer } from '../../src/proxy'
import { testProxyConfig } from '../support/proxyConfig'
import {
  PROXY_SESSION_PATH,
  ProxySessionInfoSchema,
  type ProxySessionInfo,
} from '../../src/shared/proxySession'
import { weriftRelayConfig } from '../support/weriftPeers'
import { TestClient } from './client'
import { APP, closeAll, metric, receives, type Sfu, startSfu } from './harness'

type Transport = 'udp' | 'tcp' | 'tls'

/** `POST /v1/proxy/session` over HTTPS, trusting only the proxy's own (self-signed) certificate. */
function requestSession(port: number, ca: string, token: string): Promise<ProxySessionInfo> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: PROXY_SESSION_PATH,
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`session: ${res.statusCode} ${text}`))
          else resolve(ProxySessionInfoSchema.parse(JSON.parse(text)))
        })
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ token }))
  })
}

/** The first TURN URL of the session answer for one transport: what the engine hands werift. */
function turnUrlFor(info: ProxySessionInfo, transport: Transport): string {
  const url = info.turn.urls.find((u) =>
    transport === 'tls'
      ? u.startsWith('turns:')
      : u.startsWith('turn:') && u.endsWith(`transport=${transport}`),
  )
  if (url === undefined) throw new Error(`no ${transport} TURN URL in ${info.turn.urls.join(', ')}`)
  return url
}

describe('three werift clients in one channel, through the cloud proxy', () => {
  let sfu: Sfu
  let proxy: ProxyServer
  let metrics: ProxyMetrics
  const clients: TestClient[] = []

  beforeAll(async () => {
    sfu = await startSfu()
    metrics = new ProxyMetrics({ defaultMetrics: false })
    const logger = pino({ level: process.env.PINHOLE_TEST_LOG ?? 'silent' })
    // The proxy's upstream is the conference server; its relay may reach it (loopback, for the test).
    const config = testProxyConfig({ apps: [APP], proxy: { signal: { upstream: sfu.url } } })
    proxy = await ProxyServer.start(config, { logger, metrics })
  })
  afterAll(async () => {
    await closeAll(clients, sfu)
    await proxy?.close()
  })

  /** What a desktop does: session over HTTPS, then signaling and media through the proxy only. */
  async function joinThroughProxy(uid: number, transport: Transport): Promise<TestClient> {
    const ca = proxy.tlsCertificatePem
    const token = await sfu.token('call', uid)
    const info = await requestSession(proxy.addresses().tcp, ca, token)
    const { codecs: _theirs, ...relay } = weriftRelayConfig({
      turnUrl: turnUrlFor(info, transport),
      username: info.turn.username,
      credential: info.turn.credential,
      turnTlsCa: ca,
    })
    return TestClient.join(
      { url: info.signalUrl, ws: { ca }, token, channel: 'call', uid, peer: relay },
      10_000,
    )
  }

  it('tells each of the others, forwards everyone’s audio and video intact over relays, and cleans up', async () => {
    // Arrange: A over UDP, B over TCP, C over TLS, all three on the proxy's ports only.
    const [a, b, c] = await Promise.all([
      joinThroughProxy(1, 'udp'),
      joinThroughProxy(2, 'tcp'),
      joinThroughProxy(3, 'tls'),
    ])
    clients.push(a, b, c)
    expect(a.options.url).toBe(`wss://127.0.0.1:${proxy.addresses().tcp}/v1/signal`)
    for (const client of clients) {
      const candidates = (client.pc.localDescription?.sdp ?? '')
        .split('\r\n')
        .filter((l) => l.startsWith('a=candidate:'))
      expect(candidates.length).toBeGreaterThan(0)
      for (const line of candidates) expect(line).toContain(' typ relay')
    }
    // One allocation per client, one TURN-over-TCP and one TURN-over-TLS stream, three signaling relays.
    const joined = metrics.snapshot()
    expect(joined.allocations).toBe(3)
    expect(joined.connections).toMatchObject({ tcp: 1, tls: 1, signal: 3 })
    expect(joined.sessionsIssued).toBe(3)
    expect(joined.signalConnections).toBe(3)
    expect(joined.listenerEvents).toMatchObject({ signal_open: 3, signal_upstream_open: 3 })
    for (const client of clients) client.startMedia()

    // Assert: presence (whatever order the three joins landed in).
    for (const [client, others] of [
      [a, [2, 3]],
      [b, [1, 3]],
      [c, [1, 2]],
    ] as const) {
      for (const uid of others) {
        await client.until(
          () =>
            client.messages.some(
              (m) =>
                (m.type === 'userJoined' && m.uid === uid) ||
                (m.type === 'joined' && m.participants.some((p) => p.uid === uid)),
            ) || undefined,
          `uid ${client.options.uid} told of ${uid}`,
        )
      }
    }

    // Assert: media, each from the two others, with intact payloads.
    const pairs = clients.flatMap((to) =>
      clients.filter((from) => from !== to).map((from) => [to, from.options.uid] as const),
    )
    await a.until(
      () =>
        pairs.every(([to, uid]) => receives(to, uid, 'audio', 10) && receives(to, uid, 'video', 10)) ||
        undefined,
      'media between all pairs',
      10_000,
    )
    for (const [to, uid] of pairs) {
      for (const kind of ['audio', 'video'] as const)
        expect(to.received.get(`${uid}:${kind}`)?.corrupt).toBe(0)
      expect(to.received.get(`${uid}:video`)?.keyframes).toBeGreaterThan(0)
    }
    // Every one of those packets crossed the relay twice (client → SFU, SFU → client).
    const relayed = metrics.snapshot().packets
    const received = pairs.reduce(
      (n, [to, uid]) =>
        n + to.received.get(`${uid}:audio`)!.packets + to.received.get(`${uid}:video`)!.packets,
      0,
    )
    expect(relayed.peer_to_client - joined.packets.peer_to_client).toBeGreaterThanOrEqual(received)
    expect(relayed.client_to_peer - joined.packets.client_to_peer).toBeGreaterThanOrEqual(
      Math.ceil(received / 2),
    )

    // Act: C leaves.
    c.leave()
    expect(await c.closed()).toBe(1000)
    for (const other of [a, b]) {
      expect(await other.waitFor('userLeft', (m) => m.uid === 3)).toMatchObject({ reason: 'leave' })
    }
    await a.until(() => a.subscriptions().every((s) => s.uid !== 3) || undefined, 'C unsubscribed')

    // Act: the last two leave.
    a.leave()
    b.leave()
    await Promise.all([a.closed(), b.closed()])

    // Assert: the channel is gone, the server holds nothing for it, the proxy relayed no signaling left.
    await a.until(() => sfu.server.channels().length === 0 || undefined, 'channel closed')
    expect(await metric(sfu.server.registry, 'channels')).toBe(0)
    expect(await metric(sfu.server.registry, 'participants')).toBe(0)
    expect(await metric(sfu.server.registry, 'subscriptions')).toBe(0)
    expect(await metric(sfu.server.registry, 'leaves_total', { reason: 'leave' })).toBe(3)
    await a.until(() => (metrics.snapshot().signalConnections === 0 ? true : undefined), 'signaling closed')
    expect(metrics.snapshot().listenerEvents).toMatchObject({ signal_closed: 3 })
    expect(metrics.snapshot().signalFailures).toEqual({})
  })
})
