import { randomBytes } from 'node:crypto'
import https from 'node:https'
import type net from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { ProxyApiErrorSchema, ProxySessionInfoSchema } from '../../shared/proxySession'
import { classifyFirstByte } from './port443'
import {
  collect,
  connectRaw,
  connectTls,
  onCleanup,
  request,
  sessionRequest,
  setupPort443Testkit,
  start,
  stunLike,
  testCert,
  waitFor,
} from '../../../e2e/support/port443Testkit'
import { createSignalRelay } from '../api/signalRelay'

setupPort443Testkit()

describe('classifyFirstByte', () => {
  it('routes every possible first byte by the first-byte rule (docs/architecture.md, the proxy)', () => {
    for (let byte = 0; byte < 256; byte++) {
      const letter = /[A-Za-z]/.test(String.fromCharCode(byte))
      const plain = byte === 0x16 ? 'tls' : byte < 0x40 ? 'turn' : letter ? 'http' : 'malformed'
      expect(classifyFirstByte(byte, false), `byte ${byte}`).toBe(plain)
      expect(classifyFirstByte(byte, true), `byte ${byte} in TLS`).toBe(plain === 'tls' ? 'turn' : plain)
    }
  })
})

describe('TCP 443 demultiplexing', () => {
  it('serves the session API over HTTPS', async () => {
    const h = await start()
    const answer = await sessionRequest(h.listener.port, true)
    expect(answer.status).toBe(200)
    expect(ProxySessionInfoSchema.parse(JSON.parse(answer.body)).tls.fingerprintSha256).toBe(
      testCert().fingerprintSha256,
    )
    expect(h.events).toContain('https')
  })

  it('answers plain HTTP with tls_required, never the app: no session, no route, and closes', async () => {
    const h = await start()
    for (const answer of [
      await sessionRequest(h.listener.port, false),
      await request(h.listener.port, { path: '/nope' }),
    ]) {
      expect(answer.status).toBe(400)
      expect(answer.headers.connection).toBe('close')
      const error = ProxyApiErrorSchema.parse(JSON.parse(answer.body)).error
      expect(error.code).toBe('tls_required')
      expect(error.message).toMatch(/https:\/\//)
      expect(answer.body).not.toMatch(/turn|credential|fingerprint/i)
    }
    expect(h.events.filter((e) => e === 'plain_http_refused')).toHaveLength(2)
    expect(h.events).not.toContain('http_request')
  })

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    const h = await start()
    const missing = await request(h.listener.port, { secure: true, path: '/nope' })
    expect(missing.status).toBe(404)
    expect(ProxyApiErrorSchema.parse(JSON.parse(missing.body)).error.code).toBe('not_found')
    const wrong = await request(h.listener.port, { secure: true, method: 'PUT', path: '/v1/proxy/session' })
    expect(wrong.status).toBe(405)
  })

  it('keeps an HTTPS connection alive across requests', async () => {
    const h = await start()
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: testCert().cert })
    onCleanup(() => agent.destroy())
    expect((await sessionRequest(h.listener.port, true, agent)).status).toBe(200)
    expect((await sessionRequest(h.listener.port, true, agent)).status).toBe(200)
    expect(h.events.filter((e) => e === 'accepted')).toHaveLength(1)
  })

  it('hands plain TCP starting with a STUN byte to TURN with every byte, the first included', async () => {
    const h = await start()
    const client = await connectRaw(h.listener.port)
    const received = collect(client)
    const payload = stunLike(3000)
    client.write(payload.subarray(0, 1)) // the peeked byte alone, then the rest in pieces
    await waitFor(() => h.turns.length === 1)
    client.write(payload.subarray(1, 100))
    client.write(payload.subarray(100))
    await waitFor(() => received.data().length === payload.length)
    expect(Buffer.concat(h.turns[0]!.bytes)).toEqual(payload)
    expect(received.data()).toEqual(payload)
    expect(h.turns[0]!.info).toEqual({
      transport: 'tcp',
      remoteAddress: '127.0.0.1',
      remotePort: client.localPort,
      localPort: h.listener.port,
    })
    expect(h.events).toContain('turn_tcp')
  })

  it.each([[['stun.turn']], [undefined]])(
    'hands TLS with ALPN %j to TURN with the exact bytes',
    async (alpn) => {
      const h = await start()
      const client = await connectTls(h.listener.port, alpn)
      expect(client.alpnProtocol).toBe(alpn ? 'stun.turn' : false)
      const received = collect(client)
      const payload = stunLike(20_000)
      client.write(payload.subarray(0, 7))
      client.write(payload.subarray(7))
      await waitFor(() => received.data().length === payload.length)
      expect(Buffer.concat(h.turns[0]!.bytes)).toEqual(payload)
      expect(received.data()).toEqual(payload)
      expect(h.turns[0]!.info).toMatchObject({
        transport: 'tls',
        remotePort: client.localPort,
        localPort: h.listener.port,
      })
      expect(h.events).toContain('turn_tls')
    },
  )

  it('delivers every byte to a TURN handler that starts reading late', async () => {
    const late: Buffer[] = []
    const h = await start({
      onTurnConnection: (stream) => {
        setTimeout(() => stream.on('data', (chunk: Buffer) => late.push(chunk)), 100)
      },
    })
    const client = await connectTls(h.listener.port)
    const payload = stunLike(5000)
    client.write(payload.subarray(0, 20))
    setTimeout(() => client.write(payload.subarray(20)), 30)
    await waitFor(() => Buffer.concat(late).length === payload.length)
    expect(Buffer.concat(late)).toEqual(payload)
  })

  it.each([0xff, 0x80, 0x40, 0x7f, 0x5b, 0x7b].map((b) => [b.toString(16), b] as const))(
    'closes and counts a connection starting with 0x%s',
    async (_hex, byte) => {
      const h = await start()
      const client = await connectRaw(h.listener.port)
      const received = collect(client)
      client.write(Buffer.from([byte, 1, 2, 3]))
      expect(await received.closed).toHaveLength(0)
      expect(h.events).toContain('malformed_first_byte')
      expect(h.turns).toHaveLength(0)
    },
  )

  it('closes and counts garbage after a TLS handshake', async () => {
    const h = await start()
    const client = await connectTls(h.listener.port)
    const received = collect(client)
    client.write(Buffer.from([0xff, 0xfe, 0xfd]))
    expect(await received.closed).toHaveLength(0)
    expect(h.events).toContain('tls_malformed_first_byte')
  })

  it('closes and counts a broken TLS handshake', async () => {
    const h = await start()
    const client = await connectRaw(h.listener.port)
    const received = collect(client)
    client.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), randomBytes(64)]))
    await received.closed
    await waitFor(() => h.events.includes('tls_handshake_failed'))
    await waitFor(() => h.listener.connections() === 0)
  })

  it('survives random first chunks, plain and inside TLS, and keeps serving', async () => {
    const h = await start({ firstByteTimeoutMs: 300 })
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.boolean(),
        async (bytes, overTls) => {
          const client = overTls ? await connectTls(h.listener.port) : await connectRaw(h.listener.port)
          const received = collect(client)
          client.end(Buffer.from(bytes))
          await received.closed
        },
      ),
      { numRuns: 30 },
    )
    expect((await sessionRequest(h.listener.port, true)).status).toBe(200)
    await waitFor(() => h.listener.connections() === 0)
  })
})

describe('TCP 443 WebSocket signaling', () => {
  it('relays wss:// /v1/signal to the upstream through the TLS port', async () => {
    const upstream = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise((resolve) => upstream.once('listening', resolve))
    onCleanup(() => new Promise<void>((resolve) => upstream.close(() => resolve())))
    const upstreamUrls: string[] = []
    upstream.on('connection', (ws, req) => {
      upstreamUrls.push(req.url ?? '')
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
    })
    const relay = createSignalRelay({
      upstreamUrl: `ws://127.0.0.1:${(upstream.address() as net.AddressInfo).port}/signal`,
    })
    onCleanup(() => relay.close())
    const h = await start({}, relay)
    const ws = new WebSocket(`wss://127.0.0.1:${h.listener.port}/v1/signal?room=r1`, { ca: testCert().cert })
    onCleanup(() => ws.terminate())
    const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))))
    ws.once('open', () => ws.send('{"hello":1}'))
    expect(await echoed).toBe('{"hello":1}')
    expect(upstreamUrls).toEqual(['/signal?room=r1'])
    expect(h.events).toContain('https')
  })

  it('refuses ws:// /v1/signal with tls_required and never reaches the relay or the upstream', async () => {
    const upstream = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise((resolve) => upstream.once('listening', resolve))
    onCleanup(() => new Promise<void>((resolve) => upstream.close(() => resolve())))
    let upstreamConnections = 0
    upstream.on('connection', () => upstreamConnections++)
    const relay = createSignalRelay({
      upstreamUrl: `ws://127.0.0.1:${(upstream.address() as net.AddressInfo).port}/signal`,
    })
    onCleanup(() => relay.close())
    const h = await start({}, relay)
    const ws = new WebSocket(`ws://127.0.0.1:${h.listener.port}/v1/signal`)
    ws.on('error', () => undefined) // terminate() below while the refused handshake is still CONNECTING
    onCleanup(() => ws.terminate())
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.once('open', () => reject(new Error('a plain WebSocket was accepted')))
      ws.once('unexpected-response', (_req, res) => {
        let body = ''
        res.on('data', (chunk: Buffer) => (body += chunk.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
    })
    expect(refused.status).toBe(400)
    expect(ProxyApiErrorSchema.parse(JSON.parse(refused.body)).error.code).toBe('tls_required')
    expect(relay.connections()).toBe(0)
    expect(upstreamConnections).toBe(0)
    expect(h.events).toContain('plain_http_refused')
  })
})
