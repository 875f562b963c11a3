import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import {
  createSignalRelay,
  sendableCloseCode,
  type SignalRelayEvent,
  type SignalRelayOptions,
} from './signalRelay'
import { upstreamTarget } from './signalRoute'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Upstream {
  url: string
  sockets: WebSocket[]
  requests: http.IncomingMessage[]
  received: { text: string; isBinary: boolean }[]
}

/** A conference-server stand-in; `onConnection` decides what it does (echo by default). */
async function startUpstream(
  onConnection: (ws: WebSocket) => void = (ws) =>
    ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })),
  acceptDelayMs = 0,
): Promise<Upstream> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (_info, done) => setTimeout(() => done(true), acceptDelayMs),
  })
  await new Promise((resolve) => wss.once('listening', resolve))
  const upstream: Upstream = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/signal`,
    sockets: [],
    requests: [],
    received: [],
  }
  wss.on('connection', (ws, req) => {
    upstream.sockets.push(ws)
    upstream.requests.push(req)
    ws.on('message', (data, isBinary) => upstream.received.push({ text: String(data), isBinary }))
    onConnection(ws)
  })
  cleanups.push(async () => {
    for (const ws of wss.clients) ws.terminate()
    await new Promise<void>((resolve) => wss.close(() => resolve()))
  })
  return upstream
}

async function startRelay(options: Partial<SignalRelayOptions> & { upstreamUrl: string }): Promise<{
  url: string
  events: SignalRelayEvent[]
  connections: () => number
  close: () => Promise<void>
}> {
  const events: SignalRelayEvent[] = []
  const relay = createSignalRelay({ ...options, onEvent: (e) => events.push(e) })
  const server = http.createServer((_req, res) => res.writeHead(404).end())
  server.on('upgrade', (req, socket, head) => relay.handleUpgrade(req, socket, head))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    await relay.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/signal`
  return { url, events, connections: () => relay.connections(), close: () => relay.close() }
}

function connect(url: string, options: { autoPong?: boolean } = {}): WebSocket {
  const ws = new WebSocket(url, options)
  ws.on('error', () => undefined)
  cleanups.push(() => ws.terminate())
  return ws
}

const opened = (ws: WebSocket): Promise<void> => new Promise((resolve) => ws.once('open', () => resolve()))
const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))

function messages(ws: WebSocket, count: number): Promise<{ data: RawData; isBinary: boolean }[]> {
  const got: { data: RawData; isBinary: boolean }[] = []
  return new Promise((resolve) => {
    ws.on('message', (data, isBinary) => {
      got.push({ data, isBinary })
      if (got.length === count) resolve(got)
    })
  })
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('signal relay', () => {
  it('relays text and binary frames both ways, in order, types kept', async () => {
    const upstream = await startUpstream()
    const relay = await startRelay({ upstreamUrl: upstream.url })
    const client = connect(`${relay.url}?room=42&x=%20y`)
    await opened(client)
    const sent = Array.from({ length: 100 }, (_, i) => ({ text: `m${i}`, isBinary: i % 3 === 0 }))
    const echoed = messages(client, sent.length)
    for (const m of sent) client.send(m.isBinary ? Buffer.from(m.text) : m.text, { binary: m.isBinary })
    const got = await echoed
    expect(got.map((m) => ({ text: String(m.data), isBinary: m.isBinary }))).toEqual(sent)
    expect(upstream.received).toEqual(sent)
    expect(upstream.requests[0]!.url).toBe('/signal?room=42&x=%20y')
    expect(upstream.requests[0]!.headers['x-forwarded-for']).toBe('127.0.0.1')
    expect(relay.events).toEqual(expect.arrayContaining(['signal_open', 'signal_upstream_open']))
  })

  it('queues what the client sends before the upstream is open, and delivers it in order', async () => {
    const upstream = await startUpstream(() => undefined, 200)
    const relay = await startRelay({ upstreamUrl: upstream.url })
    const client = connect(relay.url)
    await opened(client)
    for (let i = 0; i < 20; i++) client.send(`early-${i}`)
    await waitFor(() => upstream.received.length === 20)
    expect(upstream.received.map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `early-${i}`))
  })

  it('pauses the client when the pre-open queue is full, and loses nothing', async () => {
    const upstream = await startUpstream(() => undefined, 300)
    const relay = await startRelay({ upstreamUrl: upstream.url, maxQueuedMessages: 5 })
    const client = connect(relay.url)
    await opened(client)
    for (let i = 0; i < 200; i++) client.send(`q-${i}`)
    await waitFor(() => upstream.received.length === 200)
    expect(upstream.received.map((m) => m.text)).toEqual(Array.from({ length: 200 }, (_, i) => `q-${i}`))
  })

  it("propagates the client's close code and reason to the upstream", async () => {
    const upstream = await startUpstream()
    const relay = await startRelay({ upstreamUrl: upstream.url })
    const client = connect(relay.url)
    await opened(client)
    await waitFor(() => upstream.sockets.length === 1)
    const upstreamClosed = closed(upstream.sockets[0]!)
    client.close(4001, 'bye')
    expect(await upstreamClosed).toEqual({ code: 4001, reason: 'bye' })
    await waitFor(() => relay.connections() === 0)
    expect(relay.events).toContain('signal_closed')
  })

  it.each([
    ['a code and reason', 4002, 'kicked', { code: 4002, reason: 'kicked' }],
    ['no status code (1005)', undefined, undefined, { code: 1000, reason: '' }],
  ])("propagates the upstream's close with %s to the client", async (_name, code, reason, expected) => {
    const upstream = await startUpstream((ws) => ws.once('message', () => ws.close(code, reason)))
    const relay = await startRelay({ upstreamUrl: upstream.url })
    const client = connect(relay.url)
    const clientClosed = closed(client)
    await opened(client)
    client.send('close me')
    expect(await clientClosed).toEqual(expected)
  })

  it('closes the client with 1014 when the upstream is not listening', async () => {
    const upstream = await startUpstream()
    const deadUrl = upstream.url
    await cleanups.pop()!() // the upstream is gone: its port refuses connections
    const relay = await startRelay({ upstreamUrl: deadUrl })
    const client = connect(relay.url)
    const result = await closed(client)
    expect(result.code).toBe(1014)
    expect(result.reason).toMatch(/^upstream unavailable/)
    expect(relay.events).toContain('signal_upstream_failed')
  })

  it('closes the client with 1014 when the upstream drops the connection', async () => {
    const upstream = await startUpstream((ws) => ws.once('message', () => ws.terminate()))
    const relay = await startRelay({ upstreamUrl: upstream.url })
    const client = connect(relay.url)
    const clientClosed = closed(client)
    await opened(client)
    client.send('drop me')
    const result = await clientClosed
    expect(result.code).toBe(1014)
    expect(result.reason).toMatch(/^upstream connection lost/)
    expect(relay.events).toContain('signal_upstream_lost')
  })

  it('closes a client sending a message over maxMessageBytes with 1009, and forwards nothing', async () => {
    const upstream = await startUpstream()
    const relay = await startRelay({ upstreamUrl: upstream.url, maxMessageBytes: 1024 })
    const client = connect(relay.url)
    const clientClosed = closed(client)
    await opened(client)
    await waitFor(() => upstream.sockets.length === 1)
    client.send(Buffer.alloc(2048))
    expect((await clientClosed).code).toBe(1009)
    expect(upstream.received).toHaveLength(0)
    expect(relay.events).toContain('signal_message_too_big')
  })

  it('terminates a client that stops answering pings, and keeps a live one', async () => {
    const upstream = await startUpstream()
    const relay = await startRelay({ upstreamUrl: upstream.url, keepaliveIntervalMs: 100 })
    const dead = connect(relay.url, { autoPong: false })
    const live = connect(relay.url)
    const deadClosed = closed(dead)
    await Promise.all([opened(dead), opened(live)])
    expect((await deadClosed).code).toBe(1006)
    expect(relay.events).toContain('signal_client_dead')
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(live.readyState).toBe(WebSocket.OPEN)
  })

  it('stops reading the upstream while the client does not read, then delivers everything in order', async () => {
    const count = 32
    const upstream = await startUpstream((ws) => {
      for (let i = 0; i < count; i++) ws.send(Buffer.alloc(1_000_000, i), { binary: true })
    })
    const relay = await startRelay({ upstreamUrl: upstream.url, highWaterMarkBytes: 256 * 1024 })
    const client = connect(relay.url)
    const all = messages(client, count)
    client.once('open', () => client.pause())
    await waitFor(() => upstream.sockets.length === 1)
    // Once the relay has stopped reading, most of the burst stays in the upstream's own buffer.
    await waitFor(() => relay.events.includes('signal_backpressure'))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(upstream.sockets[0]!.bufferedAmount).toBeGreaterThan(8_000_000)
    client.resume()
    const got = await all
    expect(got.map((m) => (m.data as Buffer)[500_000])).toEqual(Array.from({ length: count }, (_, i) => i))
  })

  it('stops reading the client while the upstream does not read, then delivers everything in order', async () => {
    const count = 32
    const upstream = await startUpstream((ws) => ws.pause())
    const relay = await startRelay({ upstreamUrl: upstream.url, highWaterMarkBytes: 256 * 1024 })
    const client = connect(relay.url)
    await opened(client)
    await waitFor(() => upstream.sockets.length === 1)
    for (let i = 0; i < count; i++) client.send(Buffer.alloc(1_000_000, i))
    await waitFor(() => relay.events.includes('signal_backpressure'))
    // Long enough for a relay that kept reading to have drained the client completely.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(client.bufferedAmount).toBeGreaterThan(8_000_000)
    upstream.sockets[0]!.resume()
    await waitFor(() => upstream.received.length === count)
    expect(upstream.received.map((m) => m.text.charCodeAt(0))).toEqual(
      Array.from({ length: count }, (_, i) => i),
    )
  })

  it('close() closes both sides with 1001 and refuses new upgrades', async () => {
    const upstream = await startUpstream()
    const relay = await startRelay({ upstreamUrl: upstream.url })
    const client = connect(relay.url)
    await opened(client)
    await waitFor(() => upstream.sockets.length === 1)
    const both = Promise.all([closed(client), closed(upstream.sockets[0]!)])
    await relay.close()
    const [clientSide, upstreamSide] = await both
    expect(clientSide.code).toBe(1001)
    expect(upstreamSide.code).toBe(1001)
    const late = connect(relay.url)
    await expect(
      new Promise((_resolve, reject) =>
        late.once('unexpected-response', (_req, res) => reject(new Error(String(res.statusCode)))),
      ),
    ).rejects.toThrow('503')
  })
})

describe('relay helpers', () => {
  it.each([
    [1000, 1000],
    [1001, 1001],
    [4999, 4999],
    [1005, 1000],
    [1006, 1014],
    [1015, 1014],
    [1004, 1000],
    [2000, 1000],
  ])('sends close code %i as %i', (code, sendable) => {
    expect(sendableCloseCode(code)).toBe(sendable)
  })

  it.each([
    ['ws://up:9/signal', '/v1/signal?a=1', 'ws://up:9/signal?a=1'],
    ['ws://up:9/signal?k=v', '/v1/signal?a=1&b=2', 'ws://up:9/signal?k=v&a=1&b=2'],
    ['wss://up/signal', '/v1/signal', 'wss://up/signal'],
    ['ws://up/s', undefined, 'ws://up/s'],
  ])('targets %s for %s', (base, requestUrl, expected) => {
    expect(upstreamTarget(new URL(base), requestUrl).href).toBe(expected)
  })

  it('refuses an upstream URL that is not ws:// or wss://', () => {
    expect(() => createSignalRelay({ upstreamUrl: 'http://x/' })).toThrow(/ws:\/\/ or wss:\/\//)
  })

  it('refuses to start with neither an upstream URL nor a router', () => {
    expect(() => createSignalRelay({})).toThrow('an upstreamUrl or a router is required')
  })
})
