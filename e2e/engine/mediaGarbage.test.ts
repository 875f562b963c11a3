/**
 * Issue 10 item 2: anyone who reaches a participant's media port on the conference server — an unrelated
 * host, or any TURN user through the proxy's relay (the conference server is inside `peers.allow`) — used
 * to end that participant's media for good with a few hundred DTLS-looking datagrams, while werift kept
 * saying "connected". Two engines in a call through the real proxy and conference server; garbage goes to
 * each participant's server-side media port from a foreign loopback address and from a TURN allocation on
 * the same proxy; frames must keep flowing, checked byte for byte, without a rejoin, and the garbage is
 * counted.
 */
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestProxySession } from '../../src/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { StunClass } from '../../src/protocol/stun/constants'
import { TestTurnClient } from '../support/turnClient'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { checkedFramesFrom, makePeer, until, type Peer } from './harness'

const EACH = 5000
const CHANNEL = 'garbage'
const TURN_CHANNEL = 0x4000

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 })
})
afterAll(() => stack?.close())

/** Random bytes, 1 to 1,200 of them. */
function randomDatagram(): Buffer {
  return randomBytes(1 + (randomBytes(2).readUInt16BE(0) % 1200))
}

/** One DTLS 1.2 record with a consistent length field (RFC 6347 §4.1). */
function record(type: number, epoch: number, fragment: Buffer): Buffer {
  const header = Buffer.alloc(13)
  header[0] = type
  header.writeUInt16BE(0xfefd, 1)
  header.writeUInt16BE(epoch, 3)
  header.writeUIntBE(randomBytes(4).readUInt32BE(0), 5, 6)
  header.writeUInt16BE(fragment.length, 11)
  return Buffer.concat([header, fragment])
}

/**
 * What werift's DTLS acts on when nothing authenticates it: a plaintext warning alert (close_notify),
 * an unknown content type (werift takes it as an alert), a ClientHello (a renegotiation), application data
 * under the session's epoch, and a truncated record.
 */
function dtlsDatagram(i: number): Buffer {
  switch (i % 5) {
    case 0:
      return record(21, 0, Buffer.from([1, 0]))
    case 1:
      return record(24 + (i % 40), i % 2, randomBytes(16))
    case 2: {
      const body = randomBytes(60)
      const handshake = Buffer.alloc(12)
      handshake[0] = 1 // client_hello
      handshake.writeUIntBE(body.length, 1, 3)
      handshake.writeUIntBE(body.length, 9, 3)
      return record(22, 0, Buffer.concat([handshake, body]))
    }
    case 3:
      return record(23, 1, randomBytes(40 + (i % 200)))
    default:
      return record(21, 1, randomBytes(2)).subarray(0, 10)
  }
}

/** 5,000 random then 5,000 DTLS-looking datagrams through `send`, paced so loopback buffers keep up. */
async function flood(send: (data: Buffer) => void): Promise<number> {
  for (let i = 0; i < 2 * EACH; i++) {
    send(i < EACH ? randomDatagram() : dtlsDatagram(i))
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return 2 * EACH
}

async function counter(name: string): Promise<number> {
  const metric = (await stack.sfu.registry.getMetricsAsJSON()).find((m) => m.name === `pinhole_sfu_${name}`)
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0)
}

/** Each participant's server-side media port, from the conference server's admin view. */
function mediaPorts(): Map<number, number> {
  const channel = stack.sfu.channels().find((c) => c.name === CHANNEL)
  return new Map((channel?.participants ?? []).map((p) => [p.uid, p.mediaPort ?? 0]))
}

/** `count` more video and audio frames each way, then every video frame checked byte for byte. */
async function framesFlow(a: Peer, b: Peer, count: number): Promise<void> {
  const before = [a.video.length, b.video.length, a.audio.length, b.audio.length]
  await until(
    () =>
      a.video.length >= before[0]! + count &&
      b.video.length >= before[1]! + count &&
      a.audio.length >= before[2]! + count &&
      b.audio.length >= before[3]! + count,
    `${count} more frames each way`,
    5000,
  )
  expect(checkedFramesFrom(a, b)).toBeGreaterThanOrEqual(count)
  expect(checkedFramesFrom(b, a)).toBeGreaterThanOrEqual(count)
}

describe('media ports under garbage', () => {
  it('a live call survives random and DTLS-looking datagrams from a foreign address and through the TURN relay', async () => {
    const a = makePeer(stack, 1, TransportType.UDPProxy)
    const b = makePeer(stack, 2, TransportType.TCPProxy)
    const foreign: Socket = createSocket('udp4')
    let turn: TestTurnClient | undefined
    try {
      expect(await a.engine.joinChannel(await stack.token(CHANNEL, 1), CHANNEL, 1)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token(CHANNEL, 2), CHANNEL, 2)).toBe(0)
      a.startMedia()
      b.startMedia()
      await framesFlow(a, b, 20)
      const ports = mediaPorts()
      expect([...ports.keys()].sort()).toEqual([1, 2])
      for (const port of ports.values()) expect(port).toBeGreaterThan(0)

      // An unrelated host: another loopback address.
      await new Promise<void>((resolve) => foreign.bind(0, '127.0.0.2', resolve))
      let sent = 0
      for (const port of ports.values()) sent += await flood((data) => foreign.send(data, port, '127.0.0.1'))
      await framesFlow(a, b, 30)

      // Any TURN user of the same proxy: a session of its own, an allocation, then the relay sends for it.
      const session = await requestProxySession(stack.region, await stack.token('elsewhere', 99))
      const { udp } = stack.proxy.addresses()
      turn = await TestTurnClient.connect('udp', '127.0.0.1', udp[0]!, {
        username: session.info.turn.username,
        password: session.info.turn.credential,
      })
      expect((await turn.allocate()).cls).toBe(StunClass.SuccessResponse)
      for (const [index, port] of [...ports.values()].entries()) {
        const peer = { family: 4 as const, address: '127.0.0.1', port }
        expect((await turn.createPermission(peer)).cls).toBe(StunClass.SuccessResponse)
        expect((await turn.channelBind(TURN_CHANNEL + index, peer)).cls).toBe(StunClass.SuccessResponse)
        const client = turn
        let i = 0
        // Mostly ChannelData, every tenth as a Send indication: both relay paths.
        sent += await flood((data) =>
          i++ % 10 === 0 ? client.sendIndication(peer, data) : client.sendChannel(TURN_CHANNEL + index, data),
        )
      }
      await framesFlow(a, b, 30)

      // Counted: all that reached the port (the kernel may drop some when the receive buffer is full, and
      // the proxy drops a few past its per-allocation bandwidth limit).
      const dropped = await counter('media_foreign_datagrams_total')
      expect(dropped).toBeGreaterThan(sent * 0.8)
      expect(dropped).toBeLessThanOrEqual(sent)
      // Nothing broke on the way: no stall, no rejoin, the engines never left Connected.
      expect(await counter('media_stalls_total')).toBe(0)
      for (const peer of [a, b]) {
        expect(peer.states.at(-1)).toEqual([S.Connected, R.JoinSucceed])
        expect(peer.errors).toEqual([])
      }
    } finally {
      a.stopMedia()
      b.stopMedia()
      turn?.close()
      foreign.close()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  }, 40_000)
})
