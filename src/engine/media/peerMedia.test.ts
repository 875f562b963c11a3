/**
 * The engine's PeerConnection has werift's weakness too (docs/sfu.md "Media path guard"): in direct mode its
 * local media port takes datagrams from anyone. A real PeerMedia against a werift PeerConnection
 * configured as the conference server's, on loopback: garbage from a foreign address must not stop what the
 * engine sends, and a path that dies while werift says "connected" must be reported (`failed`) so that the
 * call rejoins.
 */
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { RTCPeerConnection } from 'werift'
import { SfuConfigSchema } from '../../sfu/config'
import { serverPeerConfig } from '../../sfu/media/rtc'
import { PeerMedia, type PeerState } from './peerMedia'
import { requestProxySession } from '../route/proxySessionClient'
import { startCallStack } from '../../../e2e/support/callStack'
import { closedAfterEach, LOOPBACK_ICE, negotiate, until } from '../../../e2e/support/loopbackPeers'

const open = closedAfterEach()

interface Call {
  media: PeerMedia
  server: RTCPeerConnection
  states: PeerState[]
  /** What the engine logged as warnings (message and fields). */
  warnings: string[]
  /** RTP packets the server received from the engine. */
  received(): number
  /** The engine's local media port (its host candidate; 0 over TURN). */
  port: number
  sendFrames(count: number): void
}

async function call(stallMs?: number, rtcConfig = LOOPBACK_ICE): Promise<Call> {
  const server = new RTCPeerConnection(serverPeerConfig(SfuConfigSchema.parse({})))
  const warnings: string[] = []
  const noop = (): void => undefined
  const logger = {
    debug: noop,
    info: noop,
    error: noop,
    warn: (fields: object, message: string) => warnings.push(`${message} ${JSON.stringify(fields)}`),
  }
  const media = new PeerMedia({ rtcConfig, logger, ...(stallMs === undefined ? {} : { stallMs }) })
  open.push(media, server)
  const states: PeerState[] = []
  media.on('state', (state) => states.push(state))
  let received = 0
  server.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => void received++))
  server.addTransceiver('audio', { direction: 'recvonly' })
  server.addTransceiver('video', { direction: 'recvonly' })
  const sdp = await negotiate(server, media)
  const port = Number(/ 127\.0\.0\.1 (\d+) typ host/.exec(sdp)?.[1] ?? 0)
  let index = 0
  const sendFrames = (count: number): void => {
    for (let i = 0; i < count; i++, index++) {
      const data = new Uint8Array(200).fill(index & 0xff)
      data[0] = 0x10
      media.sendVideoFrame({ data, timestamp: index * 33_333, keyframe: true })
    }
  }
  return { media, server, states, warnings, received: () => received, port, sendFrames }
}

function record(type: number, epoch: number, fragment: Buffer): Buffer {
  const header = Buffer.alloc(13)
  header[0] = type
  header.writeUInt16BE(0xfefd, 1)
  header.writeUInt16BE(epoch, 3)
  header.writeUInt16BE(fragment.length, 11)
  return Buffer.concat([header, fragment])
}

async function foreignSocket(): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.2', resolve))
  open.push(socket)
  return socket
}

describe('PeerMedia media path guard', () => {
  it('keeps sending after random and DTLS-looking datagrams from a foreign address', async () => {
    const c = await call()
    c.sendFrames(5)
    await until(() => c.received() >= 5)
    const socket = await foreignSocket()
    for (let i = 0; i < 1000; i++) {
      const data =
        i % 2
          ? randomBytes(1 + (i % 900))
          : i % 4
            ? record(21, 0, Buffer.from([1, 0]))
            : record(50, 1, randomBytes(30))
      socket.send(data, c.port, '127.0.0.1')
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
    const before = c.received()
    c.sendFrames(10)
    await until(() => c.received() >= before + 10)
    expect(c.media.isConnected).toBe(true)
    expect(c.states).not.toContain('failed')
  })

  it('reports a path that went silent while werift still says "connected" as failed', async () => {
    // What the engine receives here is the server's receiver reports (every 0.5–1.5 s, once it has our RTP).
    const c = await call(2500)
    const timer = setInterval(() => c.sendFrames(1), 30)
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000))
      expect(c.states).not.toContain('failed')
    } finally {
      clearInterval(timer)
    }
    // The server goes without a word (werift sends no close_notify); the engine's ICE never notices soon.
    await c.server.close()
    await until(() => c.states.includes('failed'))
    expect(c.media.isConnected).toBe(false)
  })
})

/** werift's TURN client under the engine's PeerConnection (white box: its local port and bound channels). */
interface TurnInternals {
  transport: { socket: { address(): { port: number } } }
  addrByChannel: Record<number, readonly [string, number]>
}

function turnOf(media: PeerMedia): TurnInternals {
  const pc = (media as unknown as { pc: RTCPeerConnection }).pc
  const protocols = pc.dtlsTransports.flatMap(
    (t) => (t.iceTransport.connection as unknown as { protocols: { turn?: TurnInternals }[] }).protocols,
  )
  return protocols.find((p) => p.turn)!.turn!
}

describe('PeerMedia over TURN/UDP', () => {
  it("drops ChannelData that does not come from the TURN server, even on the server's channel", async () => {
    const stack = await startCallStack()
    open.push(stack)
    const session = await requestProxySession(stack.region, await stack.token('relay', 7))
    const c = await call(undefined, {
      iceServers: [
        {
          urls: session.endpoints.udp!.url,
          username: session.info.turn.username,
          credential: session.info.turn.credential,
        },
      ],
      iceTransportPolicy: 'relay',
    })
    c.sendFrames(5)
    await until(() => c.received() >= 5)
    const turn = turnOf(c.media)
    const channels = Object.keys(turn.addrByChannel).map(Number)
    expect(channels.length).toBeGreaterThan(0)
    const socket = await foreignSocket()
    for (let i = 0; i < 200; i++) {
      const payload = i % 2 ? record(21, 0, Buffer.from([1, 0])) : record(60, 1, randomBytes(20))
      const frame = Buffer.alloc(4 + payload.length)
      frame.writeUInt16BE(channels[i % channels.length]!, 0)
      frame.writeUInt16BE(payload.length, 2)
      payload.copy(frame, 4)
      socket.send(frame, turn.transport.socket.address().port, '127.0.0.1')
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    const before = c.received()
    c.sendFrames(10)
    await until(() => c.received() >= before + 10)
    expect(c.media.isConnected).toBe(true)
    // Stopped at the TURN socket (not from the TURN server), not later by the DTLS filter.
    expect(c.warnings.filter((w) => w.includes('dropped'))).toEqual([
      expect.stringMatching(/^datagram from a foreign address .*127\.0\.0\.2:/),
    ])
  })
})
