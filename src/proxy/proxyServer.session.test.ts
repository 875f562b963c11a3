/**
 * The proxy end to end as a desktop uses it: a session over HTTPS on the TCP port (pinned certificate),
 * the TURN credentials it hands out working on every transport, and signaling relayed through the same
 * port to the conference server. Plain HTTP on that port gets only an error that says to use TLS.
 */
import { request } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { ProxySessionInfoSchema, type ProxySessionInfo } from '../shared/proxySession'
import { createLogger } from '../platform/logger'
import { ProxyMetrics } from './metrics'
import { mintJoinToken } from '../protocol/auth/joinToken'
import { ProxyServer } from './proxyServer'
import { StunClass } from '../protocol/stun/constants'
import { TEST_APP, testProxyConfig } from '../../e2e/support/proxyConfig'
import { TestTurnClient } from '../../e2e/support/turnClient'

function postJson(
  port: number,
  ca: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca,
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
    req.end(JSON.stringify(body))
  })
}

describe('ProxyServer: session API, TURN credentials and signaling on one TLS port', () => {
  let server: ProxyServer
  let upstream: WebSocketServer
  let metrics: ProxyMetrics

  beforeAll(async () => {
    upstream = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise<void>((resolve) => upstream.once('listening', () => resolve()))
    upstream.on('connection', (ws, req) => {
      ws.send(JSON.stringify({ hello: req.url }))
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    })
    const address = upstream.address()
    const port = typeof address === 'object' && address ? address.port : 0
    metrics = new ProxyMetrics({ defaultMetrics: false })
    server = await ProxyServer.start(
      testProxyConfig({ proxy: { signal: { upstream: `ws://127.0.0.1:${port}/v1/signal` } } }),
      {
        logger: createLogger('silent'),
        metrics,
      },
    )
  })
  afterAll(async () => {
    await server.close()
    await new Promise<void>((resolve) => upstream.close(() => resolve()))
  })

  const token = (overrides: { secret?: string; ttlSeconds?: number } = {}): Promise<string> =>
    mintJoinToken({
      appKey: TEST_APP.appKey,
      secret: overrides.secret ?? TEST_APP.secret,
      channel: 'room-1',
      uid: 42,
      ttlSeconds: overrides.ttlSeconds ?? 60,
    })

  it('answers a valid token with proxy info whose credentials allocate on every transport', async () => {
    const { status, json } = await postJson(
      server.addresses().tcp,
      server.tlsCertificatePem,
      '/v1/proxy/session',
      {
        token: await token(),
      },
    )
    expect(status).toBe(200)
    const info: ProxySessionInfo = ProxySessionInfoSchema.parse(json)
    const { udp, tcp } = server.addresses()
    expect(info.turn.urls).toEqual([
      `turn:127.0.0.1:${udp[0]}?transport=udp`,
      `turn:127.0.0.1:${udp[1]}?transport=udp`,
      `turn:127.0.0.1:${tcp}?transport=tcp`,
      `turns:127.0.0.1:${tcp}?transport=tcp`,
    ])
    expect(info.tls.fingerprintSha256).toBe(server.tlsFingerprint)
    expect(info.signalUrl).toBe(`wss://127.0.0.1:${tcp}/v1/signal`)
    expect(info.turn.username).toMatch(/^\d+:test-app:42$/)

    for (const [transport, port] of [
      ['udp', udp[0]!],
      ['udp', udp[1]!],
      ['tcp', tcp],
      ['tls', tcp],
    ] as const) {
      const client = await TestTurnClient.connect(
        transport,
        '127.0.0.1',
        port,
        { username: info.turn.username, password: info.turn.credential },
        { ca: server.tlsCertificatePem },
      )
      try {
        expect((await client.allocate()).cls).toBe(StunClass.SuccessResponse)
        await client.refresh(0)
      } finally {
        client.close()
      }
    }
    expect(metrics.snapshot().sessionsIssued).toBe(1)
  })

  it.each([
    ['expired', () => token({ ttlSeconds: -10 }), 'token_expired'],
    ['signed with another secret', () => token({ secret: 'not-the-app-secret-0123456789' }), 'token_invalid'],
    ['malformed', () => Promise.resolve('not.a.jwt'), 'token_malformed'],
  ])('refuses a token that is %s with 401 and a JSON error', async (_name, make, code) => {
    const { status, json } = await postJson(
      server.addresses().tcp,
      server.tlsCertificatePem,
      '/v1/proxy/session',
      {
        token: await make(),
      },
    )
    expect(status).toBe(401)
    expect(json).toMatchObject({ error: { code } })
    expect(metrics.snapshot().sessionFailures[code]).toBeGreaterThanOrEqual(1)
  })

  it('relays signaling to the conference server over wss on the same port, both ways', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.addresses().tcp}/v1/signal?channel=room-1`, {
      ca: server.tlsCertificatePem,
    })
    const messages: string[] = []
    ws.on('message', (data) => messages.push(String(data)))
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    ws.send('ping-1')
    await expect.poll(() => messages.length).toBe(2)
    expect(JSON.parse(messages[0]!)).toEqual({ hello: '/v1/signal?channel=room-1' })
    expect(messages[1]).toBe('ping-1')
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    ws.close(1000, 'bye')
    expect(await closed).toBe(1000)
  })

  it('answers plain HTTP on the TCP port only with tls_required: no credentials, no ws:// signaling', async () => {
    const tcp = server.addresses().tcp
    const plain = await fetch(`http://127.0.0.1:${tcp}/v1/proxy/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: await token() }),
    })
    const text = await plain.text()
    expect(plain.status).toBe(400)
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'tls_required' } })
    expect(text).not.toMatch(/turn:|credential|username/)

    const ws = new WebSocket(`ws://127.0.0.1:${tcp}/v1/signal?channel=room-1`)
    ws.on('error', () => undefined)
    const status = await new Promise<number>((resolve) => {
      ws.once('open', () => resolve(101))
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    })
    ws.terminate()
    expect(status).toBe(400)
    expect(metrics.snapshot().listenerEvents.plain_http_refused).toBe(2)
    expect(metrics.snapshot().signalConnections).toBe(0)
  })
})
