import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '../../../platform/logger'
import { ProxyMetrics } from '../../metrics'
import { makeTurnUsername, turnRestCredential } from '../../../protocol/auth/turnRest'
import { ProxyServer } from '../../proxyServer'
import { Method, StunClass } from '../../../protocol/stun/constants'
import { getAttr } from '../../../protocol/stun/message'
import { TEST_TURN_SECRET, testProxyConfig } from '../../../../e2e/support/proxyConfig'
import { TestTurnClient } from '../../../../e2e/support/turnClient'
import { BUILD_COMMAND, loadRelayAddon } from './fastPathAddon'

// The native ChannelData fast path through the whole proxy (docs/proxy.md §8): each case runs on the
// native path and, for parity, on the JS path. On the native path every ChannelData below crosses the
// proxy without entering JavaScript, so these would fail if the engine forwarded wrongly or too long.

const PEER = '127.0.0.1'

interface Peer {
  socket: UdpSocket
  port: number
  received: Buffer[]
}

async function startPeer(echo: boolean): Promise<Peer> {
  const socket = createSocket('udp4')
  const peer: Peer = { socket, port: 0, received: [] }
  socket.on('message', (data, rinfo) => {
    peer.received.push(data)
    if (echo) socket.send(Buffer.concat([Buffer.from('echo:'), data]), rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, PEER, resolve))
  peer.port = socket.address().port
  return peer
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Harness {
  server: ProxyServer
  metrics: ProxyMetrics
  clock: { offsetMs: number }
  client: TestTurnClient
  peer: Peer
}

const open: { close(): unknown }[] = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

async function start(
  fastPath: 'native' | 'js',
  proxy: Record<string, unknown> = {},
  echo = true,
  clientHost = '127.0.0.1',
): Promise<Harness> {
  const metrics = new ProxyMetrics({ defaultMetrics: false })
  const clock = { offsetMs: 0 }
  // A short first-byte timeout makes the runtime tick every 100 ms, so expiries show quickly.
  const config = testProxyConfig({ proxy: { fastPath, timeouts: { firstByteMs: 100 }, ...proxy } })
  const server = await ProxyServer.start(
    config,
    { logger: createLogger('silent'), metrics },
    { now: () => Date.now() + clock.offsetMs },
  )
  open.push(server)
  const peer = await startPeer(echo)
  open.push({ close: () => peer.socket.close() })
  const username = makeTurnUsername(`fast-${fastPath}`, 3600, Date.now())
  const client = await TestTurnClient.connect(
    'udp',
    clientHost,
    server.addresses().udp[0]!,
    { username, password: turnRestCredential(TEST_TURN_SECRET, username) },
    { udpBindHost: clientHost },
  )
  open.push(client)
  const allocated = await client.allocate([{ name: 'LIFETIME', value: 3600 }])
  expect(allocated.cls).toBe(StunClass.SuccessResponse)
  return { server, metrics, clock, client, peer }
}

const peerAddress = (peer: Peer) => ({ family: 4 as const, address: PEER, port: peer.port })

/** Sends `count` ChannelData messages and collects the echoes that come back as ChannelData. */
async function exchange(h: Harness, channel: number, count: number, size = 100): Promise<number> {
  let echoes = 0
  for (let i = 0; i < count; i++) h.client.sendChannel(channel, Buffer.alloc(size, i & 0xff))
  for (let i = 0; i < count; i++) {
    const got = await h.client.next(1000).catch(() => undefined)
    if (!got) break
    expect(got.channel).toBe(channel)
    echoes++
  }
  return echoes
}

describe('native relay addon', () => {
  it('is built and loads (CI runs the native path)', () => {
    const load = loadRelayAddon()
    expect(load, `the native relay addon is missing: run \`${BUILD_COMMAND}\``).toMatchObject({ ok: true })
  })

  it('refuses to start with fastPath native when the addon cannot load, and names the build command', async () => {
    const { loadRelayAddon: load } = await import('./fastPathAddon')
    const missing = load('/nonexistent/pinhole_relay.node')
    expect(missing.ok).toBe(false)
    if (!missing.ok) expect(missing.reason).toContain(BUILD_COMMAND)
  })
})

describe.each(['native', 'js'] as const)('a taken UDP port on the %s path', (fastPath) => {
  it('fails the start with an error that names the address and the port', async () => {
    const squatter = createSocket('udp4')
    await new Promise<void>((resolve) => squatter.bind({ port: 0, address: PEER, exclusive: true }, resolve))
    open.push({ close: () => squatter.close() })
    const taken = squatter.address().port
    const config = testProxyConfig({ proxy: { fastPath, ports: { udp: [taken], tcp: 0 } } })

    const metrics = new ProxyMetrics({ defaultMetrics: false })
    const started = ProxyServer.start(config, { logger: createLogger('silent'), metrics })
    await expect(started).rejects.toThrow(`bind EADDRINUSE ${PEER}:${taken}`)
    await expect(started).rejects.toMatchObject({ code: 'EADDRINUSE', address: PEER, port: taken })
  })
})

describe.each(['native', 'js'] as const)('UDP relaying on the %s path', (fastPath) => {
  it('forwards ChannelData both ways, counted per direction in /metrics', async () => {
    const h = await start(fastPath)
    expect(h.server.fastPath).toBe(fastPath)
    expect((await h.client.channelBind(0x4001, peerAddress(h.peer))).cls).toBe(StunClass.SuccessResponse)
    const before = h.metrics.snapshot().packets
    expect(await exchange(h, 0x4001, 200)).toBe(200)
    const after = h.metrics.snapshot()
    expect(after.packets.client_to_peer - before.client_to_peer).toBe(200)
    expect(after.packets.peer_to_client - before.peer_to_client).toBe(200)
    expect(after.bytes.client_to_peer).toBeGreaterThanOrEqual(200 * 100)
    const counters = h.server.fastPathCounters()
    if (fastPath === 'native') {
      // Every one of them crossed without JavaScript.
      expect(counters?.clientToPeerPackets).toBe(200)
      expect(counters?.peerToClientPackets).toBe(200)
    } else {
      expect(counters).toBeUndefined()
    }
    expect(await h.metrics.registry.metrics()).toMatch(
      /pinhole_proxy_packets_total\{[^}]*direction="client_to_peer"[^}]*\} 200/,
    )
  })

  it('serves STUN requests and Send indications on the same socket in between', async () => {
    const h = await start(fastPath)
    await h.client.channelBind(0x4002, peerAddress(h.peer))
    const bindings: Promise<unknown>[] = []
    for (let round = 0; round < 10; round++) {
      bindings.push(h.client.transact(Method.Binding, [], { auth: false }))
      expect(await exchange(h, 0x4002, 10)).toBe(10)
    }
    const answers = (await Promise.all(bindings)) as { cls: number }[]
    expect(answers.every((a) => a.cls === StunClass.SuccessResponse)).toBe(true)
    // A Send indication to the channel's peer still goes through the TURN core; the echo comes back on
    // the channel, since one is bound to that peer (RFC 8656 §12.5... §11.3).
    h.client.sendIndication(peerAddress(h.peer), Buffer.from('via-send'))
    const echo = await h.client.next()
    expect(echo.channel).toBe(0x4002)
    expect(echo.data.toString()).toBe('echo:via-send')
  })

  it('stops forwarding when the channel and permission expire, and after the allocation closes', async () => {
    const h = await start(fastPath)
    await h.client.channelBind(0x4003, peerAddress(h.peer))
    expect(await exchange(h, 0x4003, 5)).toBe(5)
    // Past the channel's 10 minutes (RFC 8656 §12) but inside the allocation's hour.
    h.clock.offsetMs = 601_000
    await sleep(300)
    const sentBefore = h.peer.received.length
    h.client.sendChannel(0x4003, Buffer.from('after expiry'))
    h.peer.socket.send(Buffer.from('from peer'), h.client.relayed!.port, '127.0.0.1')
    await expect(h.client.next(500)).rejects.toThrow('no relayed data')
    expect(h.peer.received.length).toBe(sentBefore)
    const dropped = h.metrics.snapshot().dropped
    expect(dropped['no-channel']).toBeGreaterThanOrEqual(1)
    expect(dropped['no-permission']).toBeGreaterThanOrEqual(1)

    // Bound again, it flows again; then Refresh 0 ends the allocation and nothing flows any more.
    await h.client.channelBind(0x4003, peerAddress(h.peer))
    expect(await exchange(h, 0x4003, 5)).toBe(5)
    const relayPort = h.client.relayed!.port
    expect((await h.client.refresh(0)).cls).toBe(StunClass.SuccessResponse)
    h.client.sendChannel(0x4003, Buffer.from('after close'))
    h.peer.socket.send(Buffer.from('from peer'), relayPort, '127.0.0.1')
    await expect(h.client.next(500)).rejects.toThrow('no relayed data')
    expect(h.peer.received.length).toBe(sentBefore + 5)
  })

  it('delivers a permission-only peer as Data indications until the permission expires', async () => {
    const h = await start(fastPath)
    expect((await h.client.createPermission(peerAddress(h.peer))).cls).toBe(StunClass.SuccessResponse)
    h.peer.socket.send(Buffer.from('hello'), h.client.relayed!.port, '127.0.0.1')
    const got = await h.client.next()
    expect(got.channel).toBeUndefined()
    expect(got.data.toString()).toBe('hello')
    h.clock.offsetMs = 301_000 // past the permission's 5 minutes (RFC 8656 §9)
    h.peer.socket.send(Buffer.from('late'), h.client.relayed!.port, '127.0.0.1')
    await expect(h.client.next(500)).rejects.toThrow('no relayed data')
  })

  it('holds the per-allocation bandwidth cap, counting what it drops', async () => {
    const h = await start(fastPath, { allocations: { bandwidthBytesPerSecond: 2000 } }, false)
    await h.client.channelBind(0x4004, peerAddress(h.peer))
    for (let i = 0; i < 40; i++) h.client.sendChannel(0x4004, Buffer.alloc(500, i))
    await sleep(300)
    // A full bucket holds 2000 bytes (4 messages); 300 ms refill adds at most 600 bytes more.
    expect(h.peer.received.length).toBeGreaterThanOrEqual(4)
    expect(h.peer.received.length).toBeLessThanOrEqual(6)
    expect(h.metrics.snapshot().dropped['bandwidth']).toBeGreaterThanOrEqual(34)
  })
})

describe.each(['native', 'js'] as const)('IPv6 clients on the %s path', (fastPath) => {
  it('relays ChannelData for a client reaching the proxy over IPv6 (IPv4 relay and peer)', async () => {
    const h = await start(fastPath, { listenHost: '::1' }, true, '::1')
    await h.client.channelBind(0x4006, peerAddress(h.peer))
    expect(await exchange(h, 0x4006, 50)).toBe(50)
    expect(h.server.fastPathCounters()?.clientToPeerPackets).toBe(fastPath === 'native' ? 50 : undefined)
    const answer = await h.client.transact(Method.Binding, [], { auth: false })
    expect(getAttr(answer, 'XOR_MAPPED_ADDRESS')).toMatchObject({ family: 6, address: '::1' })
  })
})

describe('native path on a dual-stack listener', () => {
  it('forwards for an IPv4 client reaching an IPv6 wildcard socket (v4-mapped 5-tuples)', async () => {
    const h = await start('native', { listenHost: '::' })
    await h.client.channelBind(0x4005, peerAddress(h.peer))
    expect(await exchange(h, 0x4005, 50)).toBe(50)
    expect(h.server.fastPathCounters()?.peerToClientPackets).toBe(50)
    const answer = await h.client.transact(Method.Binding, [], { auth: false })
    // The client is seen as the v4-mapped IPv6 address, as Node's dual-stack dgram sockets report it.
    expect(getAttr(answer, 'XOR_MAPPED_ADDRESS')).toMatchObject({ family: 6 })
  })
})
