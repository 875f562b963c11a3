import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import {
  collect,
  onCleanup,
  sessionRequest,
  setupPort443Testkit,
  start,
  stunLike,
  testCert,
  waitFor,
} from '../../../e2e/support/port443Testkit'
import { createSignalRelay } from '../api/signalRelay'

setupPort443Testkit()

/** A TCP connection from `from` (a loopback address) that sends a STUN Binding: a TURN client's start. */
function stunFrom(port: number, from: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => {
      socket.write(stunLike(0))
      resolve(socket)
    })
    socket.once('error', reject)
    onCleanup(() => void socket.destroy())
  })
}

/** Resolves true if the listener kept the connection, false if it closed it. */
async function kept(socket: net.Socket): Promise<boolean> {
  const closed = collect(socket).closed.then(() => false)
  return Promise.race([closed, new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 200))])
}

describe('TCP port connection slots', () => {
  it('refuses unauthenticated connections over the per-IP limit; other addresses are served', async () => {
    const h = await start({ unauthenticatedPerIp: 3 })
    const attacker = await Promise.all([1, 2, 3, 4, 5].map(() => stunFrom(h.listener.port, '127.0.0.2')))
    const verdicts = await Promise.all(attacker.map(kept))
    expect(verdicts.filter(Boolean)).toHaveLength(3)
    expect(h.events.filter((e) => e === 'rejected_unauthenticated_per_ip')).toHaveLength(2)
    expect((await sessionRequest(h.listener.port, true)).status).toBe(200)
    await waitFor(() => h.listener.unauthenticated() === 3)
  })

  it('lets unauthenticated connections hold only their share of maxConnections', async () => {
    const h = await start({ maxConnections: 4, unauthenticatedPercent: 50 })
    const from = ['127.0.0.2', '127.0.0.3', '127.0.0.4']
    const verdicts = await Promise.all(from.map((address) => stunFrom(h.listener.port, address).then(kept)))
    expect(verdicts.filter(Boolean)).toHaveLength(2)
    expect(h.events).toContain('rejected_unauthenticated_share')
  })

  it('moves a TURN connection that authenticated out of the per-IP and unauthenticated counts', async () => {
    // The fake TURN server authenticates every connection on its first bytes, as an Allocate would.
    const h = await start({
      unauthenticatedPerIp: 2,
      onTurnConnection: (stream, _info, auth) => {
        stream.on('error', () => undefined)
        stream.once('data', () => auth.authenticate())
      },
    })
    const sockets = []
    for (let i = 0; i < 6; i++) sockets.push(await stunFrom(h.listener.port, '127.0.0.2'))
    await waitFor(() => h.listener.connections() === 6)
    expect(await Promise.all(sockets.map(kept))).toEqual([true, true, true, true, true, true])
    expect(h.listener.unauthenticated()).toBe(0)
    expect(h.events).not.toContain('rejected_unauthenticated_per_ip')
  })

  it('moves a signaling WebSocket out of the unauthenticated count once the upstream says joined', async () => {
    const upstream = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await new Promise((resolve) => upstream.once('listening', resolve))
    onCleanup(() => new Promise<void>((resolve) => upstream.close(() => resolve())))
    upstream.on('connection', (ws) => {
      ws.on('message', (data) => {
        if (String(data).includes('"join"')) ws.send(JSON.stringify({ v: 1, type: 'joined', uid: 1 }))
      })
    })
    const relay = createSignalRelay({
      upstreamUrl: `ws://127.0.0.1:${(upstream.address() as net.AddressInfo).port}/v1/signal`,
    })
    onCleanup(() => relay.close())
    const h = await start({}, relay)
    const ws = new WebSocket(`wss://127.0.0.1:${h.listener.port}/v1/signal`, { ca: testCert().cert })
    onCleanup(() => ws.terminate())
    await new Promise((resolve) => ws.once('open', resolve))
    expect(h.listener.unauthenticated()).toBe(1)
    const joined = new Promise((resolve) => ws.once('message', resolve))
    ws.send(JSON.stringify({ v: 1, type: 'join' }))
    await joined
    await waitFor(() => h.listener.unauthenticated() === 0)
    expect(h.listener.connections()).toBe(1)
  })
})
