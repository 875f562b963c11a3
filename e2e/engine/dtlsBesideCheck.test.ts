/**
 * Issue 15, step 9 (docs/engine.md "Join round trips", src/engine/media/dtlsBesideCheck.ts,
 * src/sfu/media/dtlsGate.ts): the engine's ClientHello leaves right behind its connectivity check, before
 * the check's answer, and the conference server takes it — ICE and DTLS overlap by a round trip. Read on
 * the wire of the handed TURN allocation's socket (as e2e/engine/dtlsFastStart.test.ts does): a real
 * PeerMedia with the UDP probe's allocation on the real proxy, against a werift PeerConnection configured
 * as the conference server's, on loopback. And the server's side of the bargain: a ClientHello from an
 * address that sent no authenticated check is ignored.
 */
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import type { RTCPeerConnection } from 'werift'
import { PeerMedia } from '../../src/engine/media/peerMedia'
import { MediaGuard } from '../../src/protocol/media/mediaGuard'
import { Method, StunClass } from '../../src/protocol/stun/constants'
import {
  decodeMessage,
  encodeMessage,
  getAttr,
  looksLikeStun,
  newTransactionId,
} from '../../src/protocol/stun/message'
import { SfuConfigSchema } from '../../src/sfu/config'
import { serverPeerConnection } from '../../src/sfu/media/rtc'
import { handedRelay, negotiate, sendEachWay, tapSocket } from './handedRelay'

const open: { close(): unknown }[] = []
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close()
})

/** What a datagram on the TURN socket carries to or from the peer: a ChannelData frame or a Send/Data indication. */
function payload(datagram: Buffer): Buffer | undefined {
  if (datagram.length >= 4 && datagram[0]! >= 0x40 && datagram[0]! <= 0x7f) {
    return datagram.subarray(4, 4 + datagram.readUInt16BE(2))
  }
  const outer = decodeMessage(datagram)
  if (!outer.ok || (outer.message.method !== Method.Send && outer.message.method !== Method.Data)) return
  return getAttr(outer.message, 'DATA')
}

/** `check`, `check answer`, or the DTLS handshake message a peer's datagram starts with. */
function kind(data: Buffer): string | undefined {
  if (looksLikeStun(data)) {
    const inner = decodeMessage(data)
    if (!inner.ok || inner.message.method !== Method.Binding) return
    if (inner.message.cls === StunClass.Request) return 'check'
    return inner.message.cls === StunClass.SuccessResponse ? 'check answer' : undefined
  }
  // A plaintext handshake record (type 22, epoch 0): its first message's type.
  if (data.length > 13 && data[0] === 22 && data.readUInt16BE(3) === 0) {
    return ({ 1: 'ClientHello', 2: 'ServerHello', 3: 'HelloVerifyRequest' } as Record<number, string>)[
      data[13]!
    ]
  }
}

/** What crosses the handed socket, in order: `C …` sent by the engine, `S …` received from the server. */
function wire(media: Parameters<typeof tapSocket>[0]): {
  seen: string[]
  clientHello: Buffer[]
  check: Buffer[]
} {
  const seen: string[] = []
  const clientHello: Buffer[] = []
  const check: Buffer[] = []
  const read = (from: 'C' | 'S') => (datagram: Buffer) => {
    const data = payload(datagram)
    const name = data && kind(data)
    if (!name) return
    seen.push(`${from} ${name}`)
    if (from === 'C' && name === 'ClientHello') clientHello.push(Buffer.from(data))
    if (from === 'C' && name === 'check') check.push(Buffer.from(data))
  }
  tapSocket(media, read('C'), read('S'))
  return { seen, clientHello, check }
}

async function until(done: () => boolean, step: () => void): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) {
    step()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The ClientHellos the engine sent before the server's ServerHello: exactly one, so the first was answered. */
function expectOneClientHelloBeforeServerHello(seen: string[]): void {
  const beforeServerHello = seen.slice(0, seen.indexOf('S ServerHello'))
  expect(
    beforeServerHello.filter((name) => name === 'C ClientHello'),
    seen.join(', '),
  ).toHaveLength(1)
}

/** mediaFlows, then RTP counted both ways. */
async function expectMediaBothWays(
  server: RTCPeerConnection,
  media: PeerMedia,
  counts: { up: number; down: number },
): Promise<void> {
  await mediaFlows(server, media, counts)
  expect(counts.up).toBeGreaterThan(0)
  expect(counts.down).toBeGreaterThan(0)
}

/** RTP both ways once DTLS is connected: the engine's video up, the server's audio down. */
async function mediaFlows(
  server: RTCPeerConnection,
  media: PeerMedia,
  counts: { up: number; down: number },
): Promise<void> {
  const down = server.getTransceivers().find((t) => t.direction === 'sendonly')!
  let i = 0
  await until(
    () => counts.up > 0 && counts.down > 0,
    () => {
      sendEachWay(media, down, ++i)
    },
  )
}

async function call() {
  const { handed, rtcConfig } = await handedRelay(open)
  const tap = wire(handed)
  const server = serverPeerConnection(SfuConfigSchema.parse({}))
  // What the conference server puts around each of its PeerConnections (src/sfu/media/peer.ts).
  const guard = { stunRejected: 0, foreign: 0 }
  new MediaGuard(server, {
    stunRejected: () => void guard.stunRejected++,
    foreignDatagram: () => void guard.foreign++,
    dtlsRecordDropped: () => undefined,
  })
  const media = new PeerMedia({ rtcConfig, relay: handed })
  open.push(server, media)
  const counts = { up: 0, down: 0 }
  server.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => void counts.up++))
  media.on('frame', (kind) => void (kind === 'audio' && counts.down++))
  server.addTransceiver('audio', { direction: 'recvonly' })
  server.addTransceiver('video', { direction: 'recvonly' })
  server.addTransceiver('audio', { direction: 'sendonly' })
  return { server, media, tap, counts, guard }
}

describe('DTLS right behind the ICE check (issue 15)', () => {
  it('the ClientHello leaves before the check is answered and the server takes it; media flows both ways', async () => {
    const { server, media, tap, counts } = await call()
    await negotiate(server, media, [{ mid: '2', uid: 7, trackId: 'audio-7', kind: 'audio' }])

    const { seen } = tap
    const at = (name: string) => seen.indexOf(name)
    expect(at('C check'), seen.join(', ')).toBeGreaterThanOrEqual(0)
    expect(at('C ClientHello'), seen.join(', ')).toBeGreaterThan(at('C check'))
    expect(at('C ClientHello'), seen.join(', ')).toBeLessThan(at('S check answer'))
    // The server answered that first ClientHello (its flight, no cookie), not a retransmission.
    expectOneClientHelloBeforeServerHello(seen)

    await expectMediaBothWays(server, media, counts)
  })

  it('a ClientHello that comes before the server has the answer is kept until its DTLS server listens', async () => {
    const { server, media, tap, counts } = await call()
    await server.setLocalDescription(await server.createOffer())
    const sdp = await media.answer(offerOf(server))
    // The answer reaches the conference server over signaling after the check and the ClientHello over the
    // relay (werift answers early checks; its ICE connects, and its DTLS server starts, with the answer).
    await until(
      () => tap.seen.includes('S check answer') && tap.seen.includes('C ClientHello'),
      () => undefined,
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(server.dtlsTransports.map((transport) => transport.state)).toEqual(['new'])
    await server.setRemoteDescription({ type: 'answer', sdp })
    await media.connected()

    const { seen } = tap
    // The first ClientHello was answered: no retransmission (werift's comes 0.5 s later) before the ServerHello.
    expect(seen.indexOf('S ServerHello'), seen.join(', ')).toBeGreaterThan(0)
    expectOneClientHelloBeforeServerHello(seen)
    await expectMediaBothWays(server, media, counts)
  })

  it('DTLS from an address that sent no authenticated check is not kept, nor answered', async () => {
    const { server, media, tap, counts, guard } = await call()
    await server.setLocalDescription(await server.createOffer())
    const [host, port] = serverAddress(server)
    const intruder = await bound()
    open.push({ close: () => intruder.close() })
    let answered = 0
    intruder.on('message', () => void answered++)
    // Before the engine's check: DTLS-looking datagrams (as many as a ClientHello could fill) that must not
    // take the place of the engine's ClientHello.
    for (let i = 0; i < 10; i++)
      intruder.send(Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), randomBytes(60)]), port, host)
    const sdp = await media.answer(offerOf(server))
    // While the server has no DTLS server yet (its answer is late, as in the test above), someone else on
    // the relay sends, from another port, the engine's check under another password (USE-CANDIDATE) and
    // the engine's own ClientHello, replayed.
    await until(
      () => tap.check.length > 0 && tap.clientHello.length > 0,
      () => undefined,
    )
    for (let i = 0; i < 5; i++) {
      intruder.send(forged(tap.check[0]!), port, host)
      intruder.send(tap.clientHello[0]!, port, host)
    }
    await until(
      () => guard.stunRejected >= 5,
      () => undefined,
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    await server.setRemoteDescription({ type: 'answer', sdp })
    await media.connected()
    await mediaFlows(server, media, counts)

    expect(guard.stunRejected).toBe(5)
    expect(answered).toBe(0)
    // One server flight for the engine's one ClientHello: the replays were neither kept nor answered.
    const count = (name: string) => tap.seen.filter((seen) => seen === name).length
    expect(count('C ClientHello'), tap.seen.join(', ')).toBe(1)
    expect(count('S ServerHello'), tap.seen.join(', ')).toBe(1)
    expect(counts.up).toBeGreaterThan(0)
    expect(counts.down).toBeGreaterThan(0)
  })
})

function offerOf(server: RTCPeerConnection): Parameters<PeerMedia['answer']>[0] {
  const subscriptions = [{ mid: '2', uid: 7, trackId: 'audio-7', kind: 'audio' as const }]
  const publish = [
    { mid: '0', kind: 'audio' as const },
    { mid: '1', kind: 'video' as const },
  ]
  return { type: 'offer', v: 1, seq: 1, sdp: server.localDescription!.sdp, publish, subscriptions }
}

/** `check` with a fresh transaction and MESSAGE-INTEGRITY under another password. */
function forged(check: Buffer): Buffer {
  const decoded = decodeMessage(check)
  if (!decoded.ok) throw new Error(decoded.reason)
  const { cls, method, attributes } = decoded.message
  return encodeMessage(
    { cls, method, transactionId: newTransactionId(), attributes },
    { integrityKey: Buffer.from('not the password'), fingerprint: true },
  )
}

function serverAddress(server: RTCPeerConnection): [string, number] {
  const line = server.localDescription!.sdp.split('\r\n').find((l) => l.startsWith('a=candidate:'))!
  const [, , , , address, port] = line.split(' ')
  return [address!, Number(port)]
}

async function bound(): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return socket
}
