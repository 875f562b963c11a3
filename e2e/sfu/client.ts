import { createSocket, type Socket } from 'node:dgram'
import {
  type MediaStreamTrack,
  RTCPeerConnection,
  type RTCPeerConnectionConfig,
  type RTCRtpSender,
  type RTCRtpTransceiver,
  RtpHeader,
  RtpPacket,
} from 'werift'
import { type ClientOptions as WebSocketOptions, WebSocket } from 'ws'
import {
  type MediaKind,
  parseServerMessage,
  type ServerMessage,
  SIGNAL_VERSION,
  type SubscriptionInfo,
} from '../../src/shared/signaling'
import { weriftCodecs } from '../../src/protocol/media/codecs'
import { audioPayload, parsePayload, videoFramePayloads } from './media'

/**
 * A werift conference client for tests and the bench: joins over the signaling WebSocket, answers the
 * server's offers, publishes synthetic Opus and VP8 (media.ts) and checks everything it receives.
 */

export interface ReceivedTrack {
  packets: number
  bytes: number
  counters: Set<number>
  keyframes: number
  firstPacketAt?: number
  firstKeyframeAt?: number
  /** Payloads that failed the integrity check or named another publisher than the m-line's. */
  corrupt: number
}

export type Publish = { audio: boolean; video: boolean; screen?: boolean }

export interface ClientOptions {
  url: string
  token: string
  channel: string
  uid: number
  /** The join's capabilities (this client sends no screen; `screen: true` only opens the server's slot). */
  publish?: Publish
  resume?: string
  /** The name the others see (sent as is: tests send names the server must refuse too). */
  displayName?: string
  /** `false`: join receiving nobody's media (the join's `subscribe`); absent: the field is not sent. */
  subscribe?: boolean
  /** Check every payload's filler bytes (off in the bench to save CPU). */
  verify?: boolean
  /** Extra werift settings (e.g. `debug` packet loss, or relay-only TURN through the proxy). */
  peer?: RTCPeerConnectionConfig
  /** Options of the signaling WebSocket (e.g. `ca` to pin the proxy's certificate for wss://). */
  ws?: WebSocketOptions
  /** Answer the server's offers (default true). */
  autoAnswer?: boolean
  /** Sees every RTP packet received on a subscription (`key` is `uid:kind`), before any check. */
  onRtp?: (key: string, packet: RtpPacket, receivedAt: number) => void
}

let silentStun: Promise<Socket> | undefined
/**
 * werift's full ICE agent queries a STUN server (Google's by default) for a server-reflexive candidate;
 * test clients point it at a local socket that never answers, so nothing leaves the machine.
 */
function silentStunSocket(): Promise<Socket> {
  silentStun ??= new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.bind(0, '127.0.0.1', () => {
      socket.unref()
      resolve(socket)
    })
  })
  return silentStun
}

export class TestClient {
  readonly messages: ServerMessage[] = []
  readonly received = new Map<string, ReceivedTrack>()
  /** When an offer first mapped an m-line to `uid:kind` (the moment the client learnt of the subscription). */
  readonly subscribedAt = new Map<string, number>()
  closeCode: number | undefined
  sessionId: string | undefined
  plisReceived = 0
  private mapping = new Map<string, SubscriptionInfo>()
  private readonly seen = new WeakSet<MediaStreamTrack>()
  private readonly sendTransceivers: Partial<Record<MediaKind, RTCRtpTransceiver>> = {}
  private offers: Promise<void> = Promise.resolve()
  private mediaTimers: NodeJS.Timeout[] = []
  private keyframeWanted = true
  private counters = { audio: 0, video: 0, frame: 0, seqA: 0, seqV: 0 }
  private listeners: (() => void)[] = []

  private constructor(
    readonly ws: WebSocket,
    readonly pc: RTCPeerConnection,
    readonly options: ClientOptions,
  ) {}

  /** Connects and sends join; resolves once the socket is open (use `joined()` to wait for the verdict). */
  static async connect(options: ClientOptions, pc?: RTCPeerConnection): Promise<TestClient> {
    const stun = await silentStunSocket()
    const peer =
      pc ??
      new RTCPeerConnection({
        codecs: weriftCodecs(),
        headerExtensions: { audio: [], video: [] },
        bundlePolicy: 'max-bundle',
        iceServers: [{ urls: `stun:127.0.0.1:${stun.address().port}` }],
        iceStunGatherTimeout: 0.05,
        iceUseIpv4: false,
        iceUseIpv6: false,
        iceAdditionalHostAddresses: ['127.0.0.1'],
        ...options.peer,
      })
    const ws = new WebSocket(options.url, options.ws)
    const client = new TestClient(ws, peer, options)
    client.setup(pc !== undefined)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const publish = options.publish ?? { audio: true, video: true }
    client.sendRaw({
      v: SIGNAL_VERSION,
      type: 'join',
      token: options.token,
      channel: options.channel,
      uid: options.uid,
      capabilities: publish,
      ...(options.resume ? { resume: options.resume } : {}),
      ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
      ...(options.subscribe === undefined ? {} : { subscribe: options.subscribe }),
    })
    return client
  }

  /** Connects, joins and waits for `joined` and a connected PeerConnection. */
  static async join(options: ClientOptions, timeoutMs = 5000): Promise<TestClient> {
    const client = await TestClient.connect(options)
    await client.joined()
    await client.connected(timeoutMs)
    return client
  }

  private setup(reused: boolean): void {
    const publish = this.options.publish ?? { audio: true, video: true }
    if (!reused) {
      for (const kind of ['audio', 'video'] as const) {
        if (publish[kind])
          this.sendTransceivers[kind] = this.pc.addTransceiver(kind, { direction: 'sendonly' })
      }
      this.sendTransceivers.video?.sender.onPictureLossIndication.subscribe(() => {
        this.plisReceived++
        this.keyframeWanted = true
      })
      this.pc.onTrack.subscribe((track) => this.onTrack(track))
    }
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return
      const parsed = parseServerMessage(String(data))
      if (!parsed.ok) throw new Error(`server sent an invalid message: ${parsed.message}`)
      this.onMessage(parsed.message)
    })
    this.ws.on('close', (code) => {
      this.closeCode = code
      this.notify()
    })
  }

  private onMessage(message: ServerMessage): void {
    this.messages.push(message)
    if (message.type === 'joined') this.sessionId = message.sessionId
    if (message.type === 'offer' && this.options.autoAnswer !== false) {
      this.offers = this.offers.then(() => this.answer(message)).catch(() => undefined)
    }
    this.notify()
  }

  private async answer(offer: Extract<ServerMessage, { type: 'offer' }>): Promise<void> {
    this.mapping = new Map(offer.subscriptions.map((s) => [s.mid, s]))
    for (const s of offer.subscriptions) {
      if (!this.subscribedAt.has(`${s.uid}:${s.kind}`))
        this.subscribedAt.set(`${s.uid}:${s.kind}`, Date.now())
    }
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp })
    await this.pc.setLocalDescription(await this.pc.createAnswer())
    const sdp = this.pc.localDescription?.sdp
    if (sdp !== undefined) this.sendRaw({ v: SIGNAL_VERSION, type: 'answer', seq: offer.seq, sdp })
  }

  private onTrack(track: MediaStreamTrack): void {
    if (this.seen.has(track)) return
    this.seen.add(track)
    const transceiver = this.pc.getTransceivers().find((t) => t.receiver.tracks.includes(track))
    track.onReceiveRtp.subscribe((packet) => {
      const mid = transceiver?.mid
      const info = typeof mid === 'string' ? this.mapping.get(mid) : undefined
      if (!info) return
      const key = `${info.uid}:${info.kind}`
      let stats = this.received.get(key)
      if (!stats) {
        stats = { packets: 0, bytes: 0, counters: new Set(), keyframes: 0, corrupt: 0 }
        this.received.set(key, stats)
      }
      const now = Date.now()
      stats.packets++
      stats.bytes += packet.payload.length
      stats.firstPacketAt ??= now
      this.options.onRtp?.(key, packet, now)
      const marker = parsePayload(info.kind, packet.payload, this.options.verify !== false)
      if (!marker || marker.uid !== info.uid) {
        stats.corrupt++
        return
      }
      stats.counters.add(marker.counter)
      if (marker.frameStart && marker.keyframe) {
        stats.keyframes++
        stats.firstKeyframeAt ??= now
      }
    })
  }

  /** Sends audio every 20 ms and video at `fps`; video keyframes only at start and on PLI. */
  startMedia(options: { fps?: number; frameBytes?: number; audioBytes?: number } = {}): void {
    const { fps = 30, frameBytes = 1000, audioBytes = 80 } = options
    const { uid } = this.options
    const audio = this.sendTransceivers.audio
    const video = this.sendTransceivers.video
    if (audio) {
      this.mediaTimers.push(
        setInterval(() => {
          const counter = this.counters.audio++
          const header = new RtpHeader({ payloadType: 111, sequenceNumber: this.counters.seqA++ & 0xffff })
          header.timestamp = (counter * 960) >>> 0
          void audio.sender.sendRtp(new RtpPacket(header, audioPayload(uid, counter, audioBytes)))
        }, 20),
      )
    }
    if (video) {
      this.mediaTimers.push(
        setInterval(() => {
          const keyframe = this.keyframeWanted
          this.keyframeWanted = false
          const frame = this.counters.frame++
          const payloads = videoFramePayloads(uid, frame, this.counters.video, keyframe, frameBytes)
          this.counters.video += payloads.length
          payloads.forEach((payload, i) => {
            const header = new RtpHeader({
              payloadType: 96,
              sequenceNumber: this.counters.seqV++ & 0xffff,
              marker: i === payloads.length - 1,
            })
            header.timestamp = (frame * Math.round(90_000 / fps)) >>> 0
            void video.sender.sendRtp(new RtpPacket(header, payload))
          })
        }, 1000 / fps),
      )
    }
  }

  stopMedia(): void {
    for (const timer of this.mediaTimers) clearInterval(timer)
    this.mediaTimers = []
  }

  /** The sender of the published video (for tests that send their own RTP instead of `startMedia`). */
  get videoSender(): RTCRtpSender | undefined {
    return this.sendTransceivers.video?.sender
  }

  /** The sender of the published audio, likewise. */
  get audioSender(): RTCRtpSender | undefined {
    return this.sendTransceivers.audio?.sender
  }

  /** Packets sent so far per kind (the counters of the next packet). */
  get sent(): Record<'audio' | 'video', number> {
    return { audio: this.counters.audio, video: this.counters.video }
  }

  /** The mids the client receives on, with their publisher, as of the last offer. */
  subscriptions(): SubscriptionInfo[] {
    return [...this.mapping.values()]
  }

  sendPli(uid: number): Promise<void> {
    const entry = [...this.mapping.values()].find((s) => s.uid === uid && s.kind === 'video')
    const transceiver = this.pc.getTransceivers().find((t) => t.mid === entry?.mid)
    const ssrc = transceiver?.receiver.tracks[0]?.ssrc
    if (!transceiver || ssrc === undefined) throw new Error(`no video of ${uid}`)
    return transceiver.receiver.sendRtcpPLI(ssrc)
  }

  sendRaw(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value))
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor<T extends ServerMessage['type']>(
    type: T,
    match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const find = () =>
      this.messages.find(
        (m): m is Extract<ServerMessage, { type: T }> => m.type === type && match(m as never),
      )
    return this.until(find, `${type} for uid ${this.options.uid}`, timeoutMs)
  }

  joined(): Promise<Extract<ServerMessage, { type: 'joined' }>> {
    return this.waitFor('joined').catch((error: unknown) => {
      const refusal = this.messages.find((m) => m.type === 'error')
      throw refusal ? new Error(`join refused: ${refusal.type === 'error' ? refusal.code : ''}`) : error
    })
  }

  connected(timeoutMs = 5000): Promise<true> {
    const check = () => (this.pc.connectionState === 'connected' ? true : undefined)
    return this.until(check, 'connected', timeoutMs).catch((error: unknown) => {
      const { iceConnectionState, connectionState, signalingState } = this.pc
      const offers = this.messages.filter((m) => m.type === 'offer').length
      const state = { iceConnectionState, connectionState, signalingState, offers }
      throw new Error(`${String(error)} ${JSON.stringify(state)}`)
    })
  }

  closed(timeoutMs = 5000): Promise<number> {
    return this.until(() => this.closeCode, 'close', timeoutMs)
  }

  /** Polls `check` on every message and every 20 ms. */
  until<T>(check: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const tick = () => {
        const value = check()
        if (value === undefined) return
        cleanup()
        resolve(value)
      }
      const timer = setInterval(tick, 20)
      const deadline = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for ${what}`))
      }, timeoutMs)
      const cleanup = () => {
        clearInterval(timer)
        clearTimeout(deadline)
        this.listeners = this.listeners.filter((l) => l !== tick)
      }
      this.listeners.push(tick)
      tick()
    })
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener()
  }

  leave(): void {
    this.sendRaw({ v: SIGNAL_VERSION, type: 'leave' })
  }

  /** Closes the socket only (the PeerConnection stays, as after a network blip). */
  dropSignaling(): void {
    this.ws.terminate()
  }

  async close(): Promise<void> {
    this.stopMedia()
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close()
    await this.pc.close()
  }
}
