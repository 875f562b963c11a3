import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BUILD_COMMAND, loadRelayAddon, readCounters, type NativeRelay } from './fastPathAddon'

// The native engine alone (native/relay/src/relay.cc), without the TURN core: a forwarding entry must stop
// forwarding at its own deadline even if JavaScript never removes it, and only ChannelData on a bound
// channel from the attached client 5-tuple may cross.

const HOST = '127.0.0.1'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function udp(): Promise<{ socket: UdpSocket; port: number; inbox: Buffer[] }> {
  const socket = createSocket('udp4')
  const inbox: Buffer[] = []
  socket.on('message', (data) => inbox.push(data))
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve))
  return { socket, port: socket.address().port, inbox }
}

function channelData(channel: number, payload: string): Buffer {
  const data = Buffer.from(payload)
  const frame = Buffer.alloc(4 + data.length)
  frame.writeUInt16BE(channel, 0)
  frame.writeUInt16BE(data.length, 2)
  data.copy(frame, 4)
  return frame
}

describe('native relay engine', () => {
  let engine: NativeRelay
  let toJs: { socketId: number; data: Buffer; address: string; port: number }[]
  let client: Awaited<ReturnType<typeof udp>>
  let peer: Awaited<ReturnType<typeof udp>>
  let listener: number
  let listenerPort: number
  let relayPort: number

  beforeEach(async () => {
    const addon = loadRelayAddon()
    if (!addon.ok)
      throw new Error(`the native relay addon is missing: run \`${BUILD_COMMAND}\` (${addon.reason})`)
    toJs = []
    engine = addon.create((socketId, packets) => {
      for (let i = 0; i < packets.length; i += 3)
        toJs.push({
          socketId,
          data: packets[i] as Buffer,
          address: packets[i + 1] as string,
          port: packets[i + 2] as number,
        })
    })
    client = await udp()
    peer = await udp()
    ;[listener, listenerPort] = engine.openListener(HOST, 0, false, 0)
    engine.allocate(7, 0)
    const [relay, port] = engine.openRelay(HOST, 0, 0)
    relayPort = port
    expect(engine.attach(7, relay, listener, HOST, client.port)).toBe(true)
  })

  afterEach(() => {
    engine.close()
    client.socket.close()
    peer.socket.close()
  })

  it('forwards both ways on a live channel, hands everything else to JS with its source', async () => {
    engine.setChannel(7, 0x4001, HOST, peer.port, 60_000)
    client.socket.send(channelData(0x4001, 'to-peer'), listenerPort, HOST)
    client.socket.send(channelData(0x4002, 'unbound'), listenerPort, HOST)
    peer.socket.send(Buffer.from('to-client'), relayPort, HOST)
    await sleep(100)
    expect(peer.inbox.map(String)).toEqual(['to-peer'])
    expect(client.inbox).toEqual([channelData(0x4001, 'to-client')])
    expect(toJs).toEqual([
      { socketId: listener, data: channelData(0x4002, 'unbound'), address: HOST, port: client.port },
    ])
    const counters = readCounters(engine.takeCounters())
    expect(counters).toMatchObject({ clientToPeerPackets: 1, clientToPeerBytes: 7, peerToClientPackets: 1 })
  })

  it('stops at the entry deadline by itself, with no JS removal', async () => {
    engine.setChannel(7, 0x4001, HOST, peer.port, 150)
    client.socket.send(channelData(0x4001, 'early'), listenerPort, HOST)
    await sleep(250)
    client.socket.send(channelData(0x4001, 'late'), listenerPort, HOST)
    peer.socket.send(Buffer.from('late-from-peer'), relayPort, HOST)
    await sleep(100)
    expect(peer.inbox.map(String)).toEqual(['early'])
    expect(client.inbox).toEqual([])
    const handed = toJs.map((p) => String(p.data.subarray(p.socketId === listener ? 4 : 0)))
    expect(handed.sort()).toEqual(['late', 'late-from-peer'])
  })

  it('forwards nothing from another 5-tuple, nor after the channel is removed or the allocation freed', async () => {
    engine.setChannel(7, 0x4001, HOST, peer.port, 60_000)
    const stranger = await udp()
    stranger.socket.send(channelData(0x4001, 'stranger'), listenerPort, HOST)
    await sleep(50)
    engine.removeChannel(7, 0x4001)
    client.socket.send(channelData(0x4001, 'removed'), listenerPort, HOST)
    await sleep(50)
    engine.setChannel(7, 0x4001, HOST, peer.port, 60_000)
    engine.freeAllocation(7)
    client.socket.send(channelData(0x4001, 'freed'), listenerPort, HOST)
    await sleep(100)
    stranger.socket.close()
    expect(peer.inbox).toEqual([])
    expect(toJs.map((p) => String(p.data.subarray(4)))).toEqual(['stranger', 'removed', 'freed'])
  })

  it('charges a capped allocation in both directions and drops past the cap', async () => {
    engine.allocate(7, 1000) // bytes/s; the bucket starts full
    engine.setChannel(7, 0x4001, HOST, peer.port, 60_000)
    for (let i = 0; i < 10; i++) client.socket.send(channelData(0x4001, 'x'.repeat(300)), listenerPort, HOST)
    await sleep(100)
    expect(peer.inbox.length).toBe(3)
    const counters = readCounters(engine.takeCounters())
    expect(counters.bandwidthDropsClient).toBe(7)
    expect(engine.take(7, 500)).toBe(false)
  })

  it('refuses a taken relay port with EADDRINUSE', () => {
    expect(() => engine.openRelay(HOST, relayPort, 0)).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE' }),
    )
  })
})
