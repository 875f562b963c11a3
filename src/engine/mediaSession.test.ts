/**
 * The engine's PeerConnection has werift's weakness too (docs/sfu.md "Media path guard"): in direct mode its
 * local media port takes datagrams from anyone. A real MediaSession against a werift PeerConnection
 * configured as the conference server's, on loopback: garbage from a foreign address must not stop what the
 * engine sends, and a path that dies while werift says "connected" must be reported (`failed`) so that the
 * call rejoins.
 */
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { RTCPeerConnection } from 'werift'
import { SfuConfigSchema } from '../sfu/config'
import { serverPeerConfig } from '../sfu/rtc'
import { MediaSession, type PeerState } from './mediaSession'

const open: { close(): unknown }[] = []
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close()
})

interface Call {
  media: MediaSession
  server: RTCPeerConnection
  states: PeerState[]
  /** RTP packets the server received from the engine. */
  received(): number
  /** The engine's local media port (its host candidate). */
  port: number
  sendFrames(count: number): void
}

async function call(stallMs?: number): Promise<Call> {
  const server = new RTCPeerConnection(serverPeerConfig(SfuConfigSchema.parse({})))
  const media = new MediaSession({
    rtcConfig: {
      iceServers: [],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
    },
    ...(stallMs === undefined ? {} : { stallMs }),
  })
  open.push(media, server)
  const states: PeerState[] = []
  media.on('state', (state) => states.push(state))
  let received = 0
  server.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => void received++))
  server.addTransceiver('audio', { direction: 'recvonly' })
  server.addTransceiver('video', { direction: 'recvonly' })
  await server.setLocalDescription(await server.createOffer())
  const sdp = await media.answer({
    type: 'offer',
    v: 1,
    seq: 1,
    sdp: server.localDescription!.sdp,
    publish: [
      { mid: '0', kind: 'audio' },
      { mid: '1', kind: 'video' },
    ],
    subscriptions: [],
  })
  await server.setRemoteDescription({ type: 'answer', sdp })
  await media.connected()
  const port = Number(/ 127\.0\.0\.1 (\d+) typ host/.exec(sdp)![1])
  let index = 0
  const sendFrames = (count: number): void => {
    for (let i = 0; i < count; i++, index++) {
      const data = new Uint8Array(200).fill(index & 0xff)
      data[0] = 0x10
      media.sendVideoFrame({ data, timestamp: index * 33_333, keyframe: true })
    }
  }
  return { media, server, states, received: () => received, port, sendFrames }
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

async function foreignSocket(): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.2', resolve))
  open.push(socket)
  return socket
}

describe('MediaSession media path guard', () => {
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
