import type net from 'node:net'
import { describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { onCleanup, setupPort443Testkit, start, testCert, waitFor } from '../../../e2e/support/port443Testkit'
import { createSignalRelay, type SignalRelayEvent, type SignalRelayOptions } from './signalRelay'

setupPort443Testkit()

/** The relay on a TLS port, in front of an upstream that answers `joined` to any join. */
async function relayed(
  options: Partial<SignalRelayOptions>,
): Promise<{ port: number; events: SignalRelayEvent[] }> {
  const upstream = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => upstream.once('listening', resolve))
  onCleanup(() => new Promise<void>((resolve) => upstream.close(() => resolve())))
  upstream.on('connection', (ws) => {
    ws.on('message', (data) => {
      if (String(data).includes('"join"')) ws.send(JSON.stringify({ v: 1, type: 'joined', uid: 1 }))
    })
  })
  const events: SignalRelayEvent[] = []
  const relay = createSignalRelay({
    upstreamUrl: `ws://127.0.0.1:${(upstream.address() as net.AddressInfo).port}/v1/signal`,
    onEvent: (event) => events.push(event),
    ...options,
  })
  onCleanup(() => relay.close())
  const h = await start({}, relay)
  return { port: h.listener.port, events }
}

interface Client {
  ws: WebSocket
  /** 101 when open, else the HTTP status of the refusal. */
  status: Promise<number>
  closeCode: Promise<number>
}

function client(port: number, from: string): Client {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/signal`, { ca: testCert().cert, localAddress: from })
  ws.on('error', () => undefined)
  onCleanup(() => ws.terminate())
  const status = new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101))
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
  })
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  return { ws, status, closeCode }
}

async function join(c: Client): Promise<void> {
  const joined = new Promise((resolve) => c.ws.once('message', resolve))
  c.ws.send(JSON.stringify({ v: 1, type: 'join' }))
  await joined
}

describe('signal relay: unjoined connections', () => {
  it('refuses more than unjoinedPerIp unjoined sockets from one address with 429; a join frees a place', async () => {
    const r = await relayed({ unjoinedPerIp: 2 })
    const first = client(r.port, '127.0.0.2')
    const second = client(r.port, '127.0.0.2')
    expect([await first.status, await second.status]).toEqual([101, 101])
    expect(await client(r.port, '127.0.0.2').status).toBe(429)
    expect(await client(r.port, '127.0.0.1').status).toBe(101)
    expect(r.events).toContain('signal_rejected_per_ip')

    await join(first)
    await waitFor(() => r.events.includes('signal_joined'))
    expect(await client(r.port, '127.0.0.2').status).toBe(101)
  })

  it('closes a socket that has not joined within joinTimeoutMs with 4000, and keeps one that joined', async () => {
    const r = await relayed({ joinTimeoutMs: 300 })
    const idle = client(r.port, '127.0.0.2')
    const member = client(r.port, '127.0.0.2')
    await Promise.all([idle.status, member.status])
    await join(member)
    expect(await idle.closeCode).toBe(4000)
    expect(r.events).toContain('signal_join_timeout')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(member.ws.readyState).toBe(WebSocket.OPEN)
  })
})
