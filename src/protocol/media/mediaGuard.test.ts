/**
 * The media path guard against the werift it wraps (real PeerConnections, real UDP sockets on loopback):
 * the werift behaviour that made it necessary, pinned so that an upgrade which changes it shows up here,
 * and what the guard does about it. The call-level acceptance test is e2e/engine/mediaGarbage.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { RTCPeerConnection, RtpHeader, RtpPacket, type RTCRtpTransceiver } from 'werift'
import { SfuConfigSchema } from '../../sfu/config'
import { type DtlsDropReason, MediaGuard, MediaStallWatch, type StallCause } from './mediaGuard'
import { serverPeerConfig, VP8_PAYLOAD_TYPE } from '../../sfu/media/rtc'
import { weriftCodecs } from './codecs'

interface Pair {
  server: RTCPeerConnection
  client: RTCPeerConnection
  sender: RTCRtpTransceiver
  /** Sends one RTP packet from the client. */
  rtp(): void
  /** The server's media port. */
  port: number
}

const open: { close(): unknown }[] = []
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close()
})

/** A server-configured werift PeerConnection (ICE lite, one loopback host candidate) and a client. */
async function connectedPair(guarded?: MediaGuardCounts): Promise<Pair & { guard?: MediaGuard }> {
  const server = new RTCPeerConnection(serverPeerConfig(SfuConfigSchema.parse({})))
  const client = new RTCPeerConnection({
    codecs: weriftCodecs(),
    headerExtensions: { audio: [], video: [] },
    bundlePolicy: 'max-bundle',
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
  })
  open.push(server, client)
  const guard = guarded ? new MediaGuard(server, guarded.counters) : undefined
  server.addTransceiver('video', { direction: 'recvonly' })
  const sender = client.addTransceiver('video', { direction: 'sendonly' })
  await server.setLocalDescription(await server.createOffer())
  await client.setRemoteDescription(server.localDescription!)
  await client.setLocalDescription(await client.createAnswer())
  await server.setRemoteDescription(client.localDescription!)
  await until(() => server.connectionState === 'connected' && client.connectionState === 'connected')
  const port = Number(/ (\d+) typ host/.exec(server.localDescription!.sdp)![1])
  let seq = 0
  const rtp = (): void => {
    const header = new RtpHeader({
      payloadType: VP8_PAYLOAD_TYPE,
      sequenceNumber: seq++ & 0xffff,
      marker: true,
    })
    void sender.sender.sendRtp(new RtpPacket(header, Buffer.from([0x10, 0, 0, 0, 1, 2, 3])))
  }
  return { server, client, sender, rtp, port, ...(guard ? { guard } : {}) }
}

interface MediaGuardCounts {
  foreign: number
  stun: number
  dtls: Partial<Record<DtlsDropReason, number>>
  counters: ConstructorParameters<typeof MediaGuard>[1]
}

function counts(): MediaGuardCounts {
  const c: MediaGuardCounts = {
    foreign: 0,
    stun: 0,
    dtls: {},
    counters: {
      foreignDatagram: () => void c.foreign++,
      stunRejected: () => void c.stun++,
      dtlsRecordDropped: (reason) => void (c.dtls[reason] = (c.dtls[reason] ?? 0) + 1),
    },
  }
  return c
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function record(type: number, epoch: number, fragment: Buffer): Buffer {
  const header = Buffer.alloc(13)
  header[0] = type
  header.writeUInt16BE(0xfefd, 1)
  header.writeUInt16BE(epoch, 3)
  header.writeUInt16BE(fragment.length, 11)
  return Buffer.concat([header, fragment])
}

const CLOSE_NOTIFY = record(21, 0, Buffer.from([1, 0]))

async function foreignSocket(): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.2', resolve))
  open.push(socket)
  return socket
}

/** The client's own werift ICE socket, so that a datagram comes from the selected pair's address. */
function sendFromClient(pair: Pair, data: Buffer): void {
  const connection = pair.client.iceTransports[0]!.connection as unknown as {
    nominated: { protocol: { sendData(data: Buffer, addr: readonly [string, number]): Promise<void> } }
  }
  void connection.nominated.protocol.sendData(data, ['127.0.0.1', pair.port])
}

function receivedRtp(pair: Pair): () => number {
  let received = 0
  pair.server.getTransceivers()[0]!.receiver.tracks[0]?.onReceiveRtp.subscribe(() => void received++)
  pair.server.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => void received++))
  return () => received
}

describe('werift 0.25 without the guard (why it exists)', () => {
  it('one plaintext close_notify from any address closes DTLS while the PeerConnection stays "connected"', async () => {
    const pair = await connectedPair()
    const socket = await foreignSocket()
    socket.send(CLOSE_NOTIFY, pair.port, '127.0.0.1')
    await until(() => pair.server.dtlsTransports[0]!.state === 'closed')
    expect(pair.server.connectionState).toBe('connected')
  })
})

describe('MediaGuard', () => {
  it('drops random and DTLS-looking datagrams from a foreign address; DTLS and RTP carry on', async () => {
    const c = counts()
    const pair = await connectedPair(c)
    const received = receivedRtp(pair)
    const socket = await foreignSocket()
    for (let i = 0; i < 1000; i++) {
      const data = i % 2 ? randomBytes(1 + (i % 900)) : i % 4 ? CLOSE_NOTIFY : record(22, 0, randomBytes(80))
      socket.send(data, pair.port, '127.0.0.1')
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await until(() => c.foreign >= 900)
    for (let i = 0; i < 20; i++) pair.rtp()
    await until(() => received() >= 15)
    expect(pair.server.dtlsTransports[0]!.state).toBe('connected')
    expect(pair.guard!.dtlsDown).toBe(false)
    expect(pair.guard!.mediaPort).toBe(pair.port)
  })

  it("drops DTLS records from the pair's own address that do not authenticate, and keeps the association", async () => {
    const c = counts()
    const pair = await connectedPair(c)
    const received = receivedRtp(pair)
    const forged = [
      CLOSE_NOTIFY, // plaintext alert: werift would close
      record(22, 0, randomBytes(80)), // plaintext handshake: werift would renegotiate
      record(40, 1, randomBytes(20)), // unknown content type: werift takes it as an alert
      record(21, 1, Buffer.from([1, 0])), // an "encrypted" alert that is not
      record(23, 1, randomBytes(48)), // application data under the session's epoch, not sealed
      record(21, 1, randomBytes(4)).subarray(0, 9), // truncated
    ]
    for (const data of forged) sendFromClient(pair, data)
    await until(() => Object.values(c.dtls).reduce((a, b) => a + b, 0) >= forged.length)
    expect(c.dtls).toEqual({ plaintext: 2, unknown_type: 1, unauthenticated: 2, malformed: 1 })
    expect(c.foreign).toBe(0)
    for (let i = 0; i < 20; i++) pair.rtp()
    await until(() => received() >= 15)
    expect(pair.server.dtlsTransports[0]!.state).toBe('connected')
  })
})

/**
 * An ICE Binding request that nominates the sender (USE-CANDIDATE, ICE-CONTROLLING) with a USERNAME that
 * only looks right and no MESSAGE-INTEGRITY: werift's ICE-lite agent takes the first nomination it sees.
 */
function forgedNomination(ufrag: string): Buffer {
  const attribute = (type: number, value: Buffer): Buffer => {
    const header = Buffer.alloc(4)
    header.writeUInt16BE(type, 0)
    header.writeUInt16BE(value.length, 2)
    return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)])
  }
  const priority = Buffer.alloc(4)
  priority.writeUInt32BE(0x6e7f1eff)
  const body = Buffer.concat([
    attribute(0x0006, Buffer.from(`${ufrag}:evil`)), // USERNAME
    attribute(0x0024, priority), // PRIORITY
    attribute(0x0025, Buffer.alloc(0)), // USE-CANDIDATE
    attribute(0x802a, randomBytes(8)), // ICE-CONTROLLING
  ])
  const header = Buffer.alloc(20)
  header.writeUInt16BE(0x0001, 0) // Binding request
  header.writeUInt16BE(body.length, 2)
  header.writeUInt32BE(0x2112a442, 4)
  randomBytes(12).copy(header, 8)
  return Buffer.concat([header, body])
}

describe('ICE checks', () => {
  it('a forged nomination sent before the client checks does not take the media path', async () => {
    const c = counts()
    const server = new RTCPeerConnection(serverPeerConfig(SfuConfigSchema.parse({})))
    const client = new RTCPeerConnection({
      codecs: weriftCodecs(),
      headerExtensions: { audio: [], video: [] },
      bundlePolicy: 'max-bundle',
      iceServers: [],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
    })
    open.push(server, client)
    new MediaGuard(server, c.counters)
    server.addTransceiver('video', { direction: 'recvonly' })
    client.addTransceiver('video', { direction: 'sendonly' })
    await server.setLocalDescription(await server.createOffer())
    const sdp = server.localDescription!.sdp
    const port = Number(/ (\d+) typ host/.exec(sdp)![1])
    const ufrag = /a=ice-ufrag:(\S+)/.exec(sdp)![1]!
    // An attacker who knows (or guesses) the port and even the server's ufrag, spraying nominations.
    const socket = await foreignSocket()
    const spray = setInterval(() => socket.send(forgedNomination(ufrag), port, '127.0.0.1'), 5)
    try {
      await new Promise((resolve) => setTimeout(resolve, 100))
      await client.setRemoteDescription(server.localDescription!)
      await client.setLocalDescription(await client.createAnswer())
      await server.setRemoteDescription(client.localDescription!)
      await until(() => server.connectionState === 'connected' && client.connectionState === 'connected')
    } finally {
      clearInterval(spray)
    }
    expect(c.stun).toBeGreaterThan(0)
  })
})

describe('MediaStallWatch', () => {
  function watch(guard: MediaGuard, server: RTCPeerConnection): { causes: StallCause[] } {
    const result = { causes: [] as StallCause[] }
    const w = new MediaStallWatch({
      guard,
      connected: () => server.connectionState === 'connected',
      stallMs: 1000, // well above a busy machine's event-loop pauses: flowing media must never look silent
      stalled: (cause) => result.causes.push(cause),
    })
    open.push({ close: () => w.stop() })
    return result
  }

  it('reports DTLS down under a "connected" PeerConnection', async () => {
    // Without the guard's filters (a counting-only guard installed after werift broke): what still breaks.
    const pair = await connectedPair()
    const socket = await foreignSocket()
    socket.send(CLOSE_NOTIFY, pair.port, '127.0.0.1')
    await until(() => pair.server.dtlsTransports[0]!.state === 'closed')
    const guard = new MediaGuard(pair.server, counts().counters)
    const result = watch(guard, pair.server)
    await until(() => result.causes.length > 0)
    expect(result.causes).toEqual(['dtls'])
  })

  it('reports silence after media had flowed, and nothing while it flows', async () => {
    const pair = await connectedPair(counts())
    const result = watch(pair.guard!, pair.server)
    const timer = setInterval(() => pair.rtp(), 20)
    try {
      await new Promise((resolve) => setTimeout(resolve, 2500))
      expect(result.causes).toEqual([])
    } finally {
      clearInterval(timer)
    }
    // The client goes without a word (werift sends no close_notify): the ICE-lite server never notices.
    await pair.client.close()
    await until(() => result.causes.length > 0)
    expect(result.causes).toEqual(['silent'])
    expect(pair.server.connectionState).toBe('connected')
  })
})
