/** The signaling client against a scripted WebSocket server on loopback (and the real proxy for the pin). */
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import { ErrorCode } from '../../shared/errors'
import { EngineError } from '../../shared/errors'
import { refusalError, SignalingClient, SignalingError } from './signalingClient'
import { startProxyFixture, type ProxyFixture } from '../../../e2e/support/proxyFixture'

const JOIN = { token: 't', channel: 'c', uid: 7, capabilities: { audio: true, video: false } }
const joined = (extra: object = {}) =>
  JSON.stringify({
    v: 1,
    type: 'joined',
    sessionId: 's1',
    channel: 'c',
    uid: 7,
    resumed: false,
    participants: [],
    limits: { maxMessageBytes: 65536, reconnectGraceMs: 10000 },
    ...extra,
  })

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10))
}

/** A server that runs `script` on each connection with every client message parsed. */
async function scripted(script: (ws: WebSocket, message: { type: string }) => void): Promise<{
  url: string
  close: () => Promise<void>
}> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  wss.on('connection', (ws) =>
    ws.on('message', (data) => script(ws, JSON.parse(String(data)) as { type: string })),
  )
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/signal`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resolve())
      }),
  }
}

describe('SignalingClient', () => {
  let server: Awaited<ReturnType<typeof scripted>> | undefined
  afterEach(() => server?.close())

  it('joins, holds what follows joined until deliver(), ignores invalid frames, answers pong with rtt', async () => {
    server = await scripted((ws, message) => {
      if (message.type === 'join') {
        ws.send(joined())
        ws.send('{"v":1,"type":"userJoined","uid":0}') // uid 0 fails the schema
        ws.send('not json')
        ws.send(JSON.stringify({ v: 1, type: 'userJoined', uid: 9 }))
      }
      if (message.type === 'ping')
        ws.send(JSON.stringify({ v: 1, type: 'pong', ts: (message as { ts?: number }).ts }))
    })
    const client = await SignalingClient.open({ url: server.url, timings: { pingIntervalMs: 30 } })
    const seen: string[] = []
    const rtt = new Promise<number>((resolve) => client.once('rtt', resolve))
    client.on('message', (m) => seen.push(m.type === 'userJoined' ? `userJoined ${m.uid}` : m.type))
    const answer = await client.join(JOIN)
    expect(answer).toMatchObject({ type: 'joined', sessionId: 's1', resumed: false })
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(seen).toEqual(['joined'])
    client.deliver()
    expect(seen).toEqual(['joined', 'userJoined 9'])
    expect(client.invalidMessages).toBe(2)
    expect(await rtt).toBeGreaterThanOrEqual(0)
    client.close()
  })

  it.each([
    ['channel_full', ErrorCode.ChannelFull],
    ['uid_invalid', ErrorCode.RequestParameter],
    ['token_expired', ErrorCode.ProxySessionTokenExpired],
    ['token_malformed', ErrorCode.ProxySessionTokenInvalid],
    ['token_invalid', ErrorCode.ProxySessionTokenInvalid],
    ['app_unknown', ErrorCode.ProxySessionTokenInvalid],
    ['token_uid_mismatch', ErrorCode.ProxySessionTokenInvalid],
    ['token_channel_mismatch', ErrorCode.ProxySessionTokenInvalid],
    ['server_draining', ErrorCode.JoinRefused],
    ['__proto__', ErrorCode.JoinRefused],
  ])('a refused join (%s) rejects with %i and keeps the server code', async (code, expected) => {
    server = await scripted((ws) => {
      ws.send(JSON.stringify({ v: 1, type: 'error', code, message: 'no', ref: 'join' }))
      ws.close(4003, code)
    })
    const client = await SignalingClient.open({ url: server.url })
    const error = await client.join(JOIN).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SignalingError)
    expect(error).toMatchObject({ code: expected, signalCode: code })
  })

  it('a kicked before joined is a Kicked error; a close before joined is SignalingLost', async () => {
    server = await scripted((ws) => {
      ws.send(JSON.stringify({ v: 1, type: 'kicked', reason: 'serverKicked', message: 'server kicked' }))
    })
    const kicked = await SignalingClient.open({ url: server.url })
    await expect(kicked.join(JOIN)).rejects.toMatchObject({ code: ErrorCode.Kicked })
    kicked.close()
    await server.close()
    server = await scripted((ws) => ws.close(1011))
    const closed = await SignalingClient.open({ url: server.url })
    await expect(closed.join(JOIN)).rejects.toMatchObject({ code: ErrorCode.SignalingLost })
  })

  it('no pong within pongTimeoutMs: the socket is terminated and reported closed (not local)', async () => {
    server = await scripted((ws, message) => message.type === 'join' && ws.send(joined()))
    const client = await SignalingClient.open({
      url: server.url,
      timings: { pingIntervalMs: 20, pongTimeoutMs: 50 },
    })
    await client.join(JOIN)
    const [code, , local] = await new Promise<[number, string, boolean]>((resolve) =>
      client.once('closed', (...args) => resolve(args)),
    )
    expect(code).toBe(1006)
    expect(local).toBe(false)
  })

  it('leave() sends leave and waits for the server to close', async () => {
    const got: string[] = []
    server = await scripted((ws, message) => {
      got.push(message.type)
      if (message.type === 'join') ws.send(joined())
      if (message.type === 'leave') setTimeout(() => ws.close(1000), 20)
    })
    const client = await SignalingClient.open({ url: server.url })
    await client.join(JOIN)
    const closed = new Promise<number>((resolve) => client.once('closed', (code) => resolve(code)))
    await client.leave()
    expect(got).toEqual(['join', 'leave'])
    expect(await closed).toBe(1000)
  })

  it('an unreachable server is SignalingLost; an aborted open is JoinCanceled', async () => {
    await expect(SignalingClient.open({ url: 'ws://127.0.0.1:9/v1/signal' })).rejects.toMatchObject({
      code: ErrorCode.SignalingLost,
    })
    await expect(
      SignalingClient.open({ url: 'ws://127.0.0.1:9/v1/signal', signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: ErrorCode.JoinCanceled })
  })

  it('a leave while the WebSocket handshake is under way is JoinCanceled, with no stray error event', async () => {
    // A server that takes the connection and never answers the upgrade: the handshake stays open.
    const sockets: Socket[] = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const abort = new AbortController()
    const url = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/signal`
    const opening = SignalingClient.open({ url, signal: abort.signal })
    await waitUntil(() => sockets.length > 0)
    abort.abort()
    await expect(opening).rejects.toMatchObject({ code: ErrorCode.JoinCanceled })
    // ws reports the aborted handshake as an 'error' a tick later; unheard, it took down the process
    // (`pinhole join` interrupted while joining).
    await new Promise((resolve) => setTimeout(resolve, 50))
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })

  it('a join with the upgrade: a server that takes it answers unasked (no join message); an older one gets the message', async () => {
    const received: string[] = []
    const headers: (string | undefined)[] = []
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
    let takes = true
    wss.on('headers', (lines) => takes && lines.push('Pinhole-Join: accepted'))
    wss.on('connection', (ws, req) => {
      headers.push(req.headers['pinhole-join'] as string | undefined)
      // Right behind the 101 (often in the same segment): the client must not lose it.
      if (takes) ws.send(joined())
      ws.on('message', (data) => {
        received.push(JSON.parse(String(data)).type as string)
        if (received.at(-1) === 'join') ws.send(joined())
      })
    })
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/signal`
    try {
      for (const server of ['takes it', 'older'] as const) {
        takes = server === 'takes it'
        const client = await SignalingClient.open({ url, join: JOIN })
        expect(await client.join(JOIN), server).toMatchObject({ type: 'joined' })
        client.close()
      }
      const header = JSON.parse(Buffer.from(headers[0]!, 'base64url').toString()) as object
      expect(header).toEqual({ v: 1, type: 'join', ...JOIN })
      expect(headers[1]).toBe(headers[0])
      expect(received).toEqual(['join']) // only the older server got a join message
    } finally {
      await new Promise((resolve) => wss.close(resolve))
    }
  })

  it('refusalError keeps unknown codes as JoinRefused with the server message', () => {
    const error = refusalError('brand_new_code', 'explained')
    expect(error).toBeInstanceOf(EngineError)
    expect(error).toMatchObject({ code: ErrorCode.JoinRefused, detail: 'brand_new_code: explained' })
  })
})

describe('SignalingClient over the proxy’s wss', () => {
  let proxy: ProxyFixture
  beforeAll(async () => {
    proxy = await startProxyFixture()
  })
  afterAll(() => proxy.close())

  it('a certificate other than the pinned one fails with TlsFingerprintMismatch before any HTTP', async () => {
    const { tcp } = proxy.server.addresses()
    const wrong = proxy.server.tlsFingerprint.replace(
      /^../,
      proxy.server.tlsFingerprint.startsWith('00') ? '11' : '00',
    )
    const open = SignalingClient.open({
      url: `wss://127.0.0.1:${tcp}/v1/signal`,
      tls: { host: '127.0.0.1', port: tcp, pin: { fingerprintSha256: wrong } },
    })
    await expect(open).rejects.toMatchObject({ code: ErrorCode.TlsFingerprintMismatch })
  })

  it('with the right pin the WebSocket opens through the proxy', async () => {
    const { tcp } = proxy.server.addresses()
    const client = await SignalingClient.open({
      url: `wss://127.0.0.1:${tcp}/v1/signal`,
      tls: { host: '127.0.0.1', port: tcp, pin: { fingerprintSha256: proxy.server.tlsFingerprint } },
    })
    expect(client.isOpen).toBe(true)
    client.close()
  })
})
