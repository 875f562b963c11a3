/**
 * werift peer agent (runs inside a lab namespace, so its sockets use that namespace's network stack). One
 * peer connection at a time: `create` (relay through one TURN server, or direct with host candidates only),
 * SDP through `offer` / `answer` / `accept` (non-trickle: candidates are in the SDP), then data-channel
 * messages and paced RTP each way, counted and content-checked. Protocol: protocol.ts.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift'
import type { RTCDataChannel, RTCPeerConnectionConfig, RTCRtpTransceiver } from 'werift'
import { weriftRelayConfig } from '../../support/weriftPeers'
import {
  RTP_FILLER,
  RTP_PAYLOAD_BYTES,
  message,
  messageIndex,
  type ConnectedAt,
  type Description,
  type IceSpec,
  type PeerOps,
} from './protocol'
import { emit, serveRpc } from './rpc'

const now = (): number => performance.timeOrigin + performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function configFor(ice: IceSpec): RTCPeerConnectionConfig {
  if (ice.mode === 'relay') return { ...weriftRelayConfig(ice.turn), iceUseIpv6: false }
  // No servers at all: an empty list, or werift falls back to a public Google STUN server.
  return {
    iceServers: [],
    iceTransportPolicy: 'all',
    bundlePolicy: 'max-bundle',
    iceUseIpv6: false,
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, payloadType: 96 })],
    },
  }
}

function rtpPacket(index: number): RtpPacket {
  const payload = Buffer.alloc(RTP_PAYLOAD_BYTES, RTP_FILLER)
  payload[0] = 0x10 // VP8 payload descriptor: S=1, partition 0
  payload.writeUInt32BE(index, 1)
  const header = new RtpHeader({ payloadType: 96, sequenceNumber: index & 0xffff, timestamp: index * 3000 })
  return new RtpPacket(header, payload)
}

function rtpIndex(payload: Buffer): number | undefined {
  if (payload.length !== RTP_PAYLOAD_BYTES || payload[0] !== 0x10) return undefined
  for (let i = 5; i < payload.length; i++) if (payload[i] !== RTP_FILLER) return undefined
  return payload.readUInt32BE(1)
}

class Peer {
  readonly pc: RTCPeerConnection
  readonly video: RTCRtpTransceiver
  readonly channel: Promise<RTCDataChannel>
  readonly messages = new Set<number>()
  readonly rtp = new Set<number>()
  corrupt = 0
  state = 'new'
  private readonly stateWaiters = new Set<() => void>()

  constructor(role: 'offerer' | 'answerer', ice: IceSpec) {
    this.pc = new RTCPeerConnection(configFor(ice))
    this.video = this.pc.addTransceiver('video', { direction: 'sendrecv' })
    this.channel =
      role === 'offerer'
        ? Promise.resolve(this.pc.createDataChannel('lab'))
        : new Promise((resolve) => this.pc.onDataChannel.subscribe(resolve))
    void this.channel.then((channel) =>
      channel.onMessage.subscribe((data) => {
        const index = messageIndex(String(data))
        if (index === undefined) this.corrupt++
        else this.messages.add(index)
      }),
    )
    this.pc.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((packet) => {
        const index = rtpIndex(packet.payload)
        if (index === undefined) this.corrupt++
        else this.rtp.add(index)
      }),
    )
    this.pc.connectionStateChange.subscribe((state) => {
      this.state = state
      emit('state', { state, at: now() })
      for (const wake of this.stateWaiters) wake()
    })
  }

  /** Resolves with the first state in `states`, or 'timeout'. */
  async waitState(states: readonly string[], timeoutMs: number): Promise<string> {
    const deadline = now() + timeoutMs
    while (!states.includes(this.state)) {
      const left = deadline - now()
      if (left <= 0) return 'timeout'
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer)
          this.stateWaiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, left)
        this.stateWaiters.add(wake)
      })
    }
    return this.state
  }

  async describe(): Promise<Description> {
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((state) => {
          if (state !== 'complete') return
          unSubscribe()
          resolve()
        })
      })
    }
    const sdp = this.pc.localDescription?.sdp ?? ''
    return { sdp, candidates: sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')) }
  }
}

let peer: Peer | undefined
const current = (): Peer => {
  if (!peer) throw new Error('no peer connection: call create first')
  return peer
}

async function closePeer(): Promise<Record<string, never>> {
  const closing = peer
  peer = undefined
  await closing?.pc.close()
  return {}
}

async function waitConnected(timeoutMs: number): Promise<ConnectedAt> {
  const p = current()
  const state = await p.waitState(['connected', 'failed', 'closed'], timeoutMs)
  if (state !== 'connected') throw new Error(`connectionState ${state} (wanted connected)`)
  const connectedAt = now()
  const channel = await p.channel
  if (channel.readyState !== 'open') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('data channel did not open')), timeoutMs)
      channel.stateChanged.subscribe((s) => {
        if (s !== 'open') return
        clearTimeout(timer)
        resolve()
      })
    })
  }
  return { connectedAt, channelOpenAt: now() }
}

serveRpc<PeerOps>(
  {
    create: async ({ role, ice }) => {
      await closePeer()
      peer = new Peer(role, ice)
      return {}
    },
    offer: async () => {
      const p = current()
      await p.pc.setLocalDescription(await p.pc.createOffer())
      return p.describe()
    },
    answer: async ({ sdp }) => {
      const p = current()
      await p.pc.setRemoteDescription({ type: 'offer', sdp })
      await p.pc.setLocalDescription(await p.pc.createAnswer())
      return p.describe()
    },
    accept: async ({ sdp }) => {
      await current().pc.setRemoteDescription({ type: 'answer', sdp })
      return {}
    },
    waitConnected: ({ timeoutMs }) => waitConnected(timeoutMs),
    waitState: async ({ states, timeoutMs }) => ({ state: await current().waitState(states, timeoutMs) }),
    send: async ({ messages, rtp, intervalMs }) => {
      const p = current()
      const channel = await p.channel
      for (let i = 0; i < messages; i++) channel.send(message(i))
      // Absolute schedule: a late timer catches up instead of stretching the run.
      const began = now()
      for (let next = 0; next < rtp;) {
        const due = Math.min(rtp, Math.floor((now() - began) / intervalMs) + 1)
        for (; next < due; next++) await p.video.sender.sendRtp(rtpPacket(next))
        await sleep(1)
      }
      return {}
    },
    waitReceived: async ({ messages, rtp, timeoutMs }) => {
      const p = current()
      const deadline = now() + timeoutMs
      while ((p.messages.size < messages || p.rtp.size < rtp) && now() < deadline) await sleep(10)
      return { messages: p.messages.size, rtp: p.rtp.size, corrupt: p.corrupt }
    },
    close: closePeer,
  },
  async () => {
    await closePeer()
  },
)
emit('ready')
