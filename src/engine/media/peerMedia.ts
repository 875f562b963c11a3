import {
  RTCPeerConnection,
  type MediaStreamTrack,
  type RTCPeerConnectionConfig,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift'
import { OPUS_CODEC, VP8_CODEC } from '../../shared/codecs'
import type { RemoteFrame } from '../../shared/engine'
import type { SendTarget, VideoTrack } from '../../shared/mediaPort'
import { EngineError, ErrorCode } from '../../shared/errors'
import { sanitizeRemoteSdp } from '../../shared/sdp'
import { isVideoKind, type MediaKind, type ServerMessage } from '../../shared/signaling'
import { weriftCodecs, weriftHeaderExtensions } from '../../protocol/media/codecs'
import { MediaGuard, MediaStallWatch } from '../../protocol/media/mediaGuard'
import { requestRetransmissions } from '../../protocol/media/nackRequester'
import type { EncodedAudioFrame, EncodedVideoFrame } from './frames'
import { silentLogger, systemClock, type Clock, type EngineLogger } from '../defaults'
import { TypedEmitter } from '../events'
import { RemoteStreams, type RemoteStreamsDeps } from './remoteMedia'
import { videoRetransmits, type SenderRetransmits } from './uplinkRetransmits'
import { SendControl } from './sendControl'
import type { RemoteVideoLedger } from './remoteVideoLedger'
import { OPUS_CLOCK_RATE, OpusSender } from './rtp/opus'
import { Pacer, type PacerOptions } from './rtp/pacer'
import { LocalMediaClock } from './rtp/sequence'
import { VP8_CLOCK_RATE } from './rtp/vp8'
import { vp8KeyFrameSize } from './rtp/vp8Header'
import { Vp8TemporalSender } from './rtp/vp8Temporal'
import { fromWeriftStats, newCounters, type MediaCounters, type PeerStatsSample } from '../stats/stats'
import { TurnRttMeter } from '../stats/turnRtt'
import type { TlsRelayAllocation as HandedTlsTurn, UdpRelayAllocation as HandedTurn } from './relayAllocation'
import { offerRelay, weriftTurn } from './handedRelay'
import { nominateOnFirstCheck } from './iceFastStart'
import { handshakesInOrderOnStart } from '../../protocol/media/dtlsInOrder'

/**
 * The call's one werift RTCPeerConnection (docs/sfu.md "Media"): configured from the transport selection
 * (one TURN server, relay only, max-bundle; or direct), answering the server's offers (it never offers),
 * publishing on three `sendonly` transceivers added before the first offer (matched, in order, to the
 * server's publishing slots: audio, camera, screen), receiving everyone else on the m-lines the offers name.
 * The screen is a second VP8 stream with its own SSRC, packetizer and clock, paced in the video queue with
 * the camera under the one send target (docs/media.md "Screen share").
 */

export const OPUS_PAYLOAD_TYPE = OPUS_CODEC.payloadType
export const VP8_PAYLOAD_TYPE = VP8_CODEC.payloadType
/**
 * werift holds the answer until server-reflexive gathering ends (5 s by default when the STUN server does
 * not answer). The server is ICE lite and learns our address from our checks (peer-reflexive), so in
 * direct mode a short wait is enough; relay mode gathers no STUN at all.
 */
const STUN_GATHER_TIMEOUT_S = 0.5
/** RTP fixed header, for pacing by wire size. */
const RTP_HEADER_BYTES = 12
/** Nothing received this long while "connected" (werift's RTCP alone arrives every 0.5–1.5 s): rejoin. */
export const MEDIA_STALL_MS = 8000

export type OfferMessage = Extract<ServerMessage, { type: 'offer' }>
export type PeerState = RTCPeerConnection['connectionState']

export interface PeerMediaOptions {
  rtcConfig: RTCPeerConnectionConfig
  clock?: Clock
  logger?: EngineLogger
  pacer?: Omit<PacerOptions, 'clock' | 'onVideoDropped'>
  remote?: Pick<RemoteStreamsDeps, 'assembler' | 'keyFrameRequestIntervalMs'>
  /** Bytes, frames and packets in and out are added here (the call's, so they outlive this session). */
  counters?: MediaCounters
  /** Each remote user's video figures (the call's, like `counters`). */
  remoteVideo?: RemoteVideoLedger
  /** See MEDIA_STALL_MS. */
  stallMs?: number
  /** The probe's TURN allocation (UDP or TLS), for werift's ICE to gather with (handedRelay.ts). */
  relay?: HandedTurn | HandedTlsTurn
}

export interface PeerMediaEvents {
  frame: [kind: MediaKind, frame: RemoteFrame]
  /**
   * The server asked for a key frame (PLI) of the camera (no track) or the screen, or the pacer dropped
   * video: the next frame of that track must be a key frame.
   */
  keyFrameRequested: [track?: VideoTrack]
  /** The bandwidth estimate's send target moved (docs/media.md "Bandwidth estimation"). */
  sendTarget: [target: SendTarget]
  state: [state: PeerState]
  /** werift's TURN allocation is done (gathering complete), then ICE connected: the join's timeline. */
  progress: [step: 'gathered' | 'iceConnected']
}

interface Outgoing {
  kind: MediaKind
  packet: RtpPacket
  layer: number // video: the frame's temporal layer (0 without layers)
}

export class PeerMedia extends TypedEmitter<PeerMediaEvents> {
  private readonly pc: RTCPeerConnection
  private readonly senders: Record<MediaKind, RTCRtpTransceiver>
  private readonly remote: RemoteStreams
  private readonly pacer: Pacer<Outgoing>
  private readonly sendControl: SendControl
  private readonly retransmits: Record<'video' | 'screen', SenderRetransmits>
  /** The picture size of the last VP8 key frame sent (for the statistics). */
  private sentVideoSize: { width: number; height: number } | null = null
  private readonly packetizers = {
    video: new Vp8TemporalSender({ payloadType: VP8_PAYLOAD_TYPE }),
    screen: new Vp8TemporalSender({ payloadType: VP8_PAYLOAD_TYPE }),
    audio: new OpusSender({ payloadType: OPUS_PAYLOAD_TYPE }),
  }
  private readonly clocks = {
    video: new LocalMediaClock(VP8_CLOCK_RATE),
    screen: new LocalMediaClock(VP8_CLOCK_RATE),
    audio: new LocalMediaClock(OPUS_CLOCK_RATE),
  }
  /** A screen frame went out on this PeerConnection: a pacer drop may have cost the screen too. */
  private sentScreen = false
  private readonly seen = new WeakSet<MediaStreamTrack>()
  private readonly clock: Clock
  private readonly logger: EngineLogger
  private readonly counters: MediaCounters
  private answers: Promise<unknown> = Promise.resolve()
  private closed = false
  /** The stall watch found the path dead while werift says "connected" (reported as `failed`). */
  private stalled = false
  private readonly turnRtt: TurnRttMeter
  private readonly guard: MediaGuard
  private readonly stallWatch: MediaStallWatch
  private unusedRelay: (() => Promise<void>) | undefined

  constructor(options: PeerMediaOptions) {
    const logger = options.logger ?? silentLogger
    super((event, error) => logger.error({ event, err: error }, 'a media listener threw'))
    this.logger = logger
    this.clock = options.clock ?? systemClock
    this.counters = options.counters ?? newCounters()
    this.pc = enginePeerConnection(options.rtcConfig, this.clock)
    // The same guard as the conference server's (docs/sfu.md "Media path guard"): in direct mode the local
    // port takes datagrams from anyone, and over TURN/UDP a ChannelData frame from anyone looks relayed.
    this.guard = guardMedia(this.pc, logger)
    this.stallWatch = new MediaStallWatch({
      guard: this.guard,
      connected: () => this.pc.connectionState === 'connected',
      stallMs: options.stallMs ?? MEDIA_STALL_MS,
      clock: this.clock,
      stalled: (cause) => {
        this.stalled = true
        this.logger.warn({ cause }, 'media path dead while connected; reporting it failed')
        this.emit('state', 'failed')
      },
    })
    this.senders = {
      audio: this.pc.addTransceiver('audio', { direction: 'sendonly' }),
      video: this.pc.addTransceiver('video', { direction: 'sendonly' }),
      screen: this.pc.addTransceiver('video', { direction: 'sendonly' }),
    }
    if (options.relay) this.unusedRelay = offerRelay(this.pc, weriftTurn(options.relay))
    nominateOnFirstCheck(this.pc)
    for (const transport of this.pc.dtlsTransports) handshakesInOrderOnStart(transport)
    this.turnRtt = new TurnRttMeter(this.pc, this.clock, logger)
    this.senders.video.sender.onPictureLossIndication.subscribe(() => this.emit('keyFrameRequested'))
    this.senders.screen.sender.onPictureLossIndication.subscribe(() =>
      this.emit('keyFrameRequested', 'screen'),
    )
    this.pacer = new Pacer<Outgoing>((out) => this.sendPacket(out), {
      ...options.pacer,
      clock: this.clock,
      onVideoDropped: (packets) => {
        this.logger.debug({ packets }, 'pacer dropped queued video; asking for a key frame')
        this.emit('keyFrameRequested')
        if (this.sentScreen) this.emit('keyFrameRequested', 'screen')
      },
    })
    this.sendControl = new SendControl({
      pc: this.pc,
      senders: this.senders,
      clock: this.clock,
      logger,
      setPacingRate: (bps) => this.pacer.setRate(bps),
      target: (target) => this.emit('sendTarget', target),
    })
    // Retransmissions paid for from the send target (uplinkRetransmits.ts), not beside it.
    this.retransmits = videoRetransmits(this.senders, this.clock, () => this.sendControl.targetBps())
    this.remote = new RemoteStreams({
      ...options.remote,
      frame: (kind, frame) => {
        // The call's video figures are the camera's (docs/engine.md "Screen share").
        if (kind === 'video') this.counters.rxVideoFrames++
        else if (kind === 'audio') this.counters.rxAudioPackets++
        this.emit('frame', kind, frame)
      },
      requestKeyFrame: (mid) => this.requestKeyFrame(mid),
      now: () => this.clock.now(),
      ...(options.remoteVideo ? { ledger: options.remoteVideo } : {}),
    })
    this.pc.onTrack.subscribe((track) => this.onTrack(track))
    this.pc.connectionStateChange.subscribe((state) => {
      if (!this.stalled) this.emit('state', state)
    })
    this.pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') this.emit('progress', 'gathered')
    })
    this.pc.iceConnectionStateChange.subscribe((state) => {
      if (state === 'connected') this.emit('progress', 'iceConnected')
    })
  }

  get connectionState(): PeerState {
    return this.pc.connectionState
  }

  get isConnected(): boolean {
    return !this.closed && !this.stalled && this.pc.connectionState === 'connected'
  }

  /** Applies one offer and returns the answer's SDP. Offers are applied one at a time, in order. */
  answer(offer: OfferMessage): Promise<string> {
    const run = async (): Promise<string> => {
      if (this.closed) throw new EngineError(ErrorCode.MediaLost, 'media session closed')
      this.remote.setSubscriptions(offer.subscriptions)
      await this.pc.setRemoteDescription({ type: 'offer', sdp: sanitizeRemoteSdp(offer.sdp) })
      await this.pc.setLocalDescription(await this.pc.createAnswer())
      const sdp = this.pc.localDescription?.sdp
      if (sdp === undefined) throw new EngineError(ErrorCode.Internal, 'werift produced no answer')
      return sdp
    }
    const result = this.answers.then(run, run)
    this.answers = result.catch(() => undefined)
    return result
  }

  /** Resolves once ICE and DTLS are up; rejects when the connection fails, closes or the signal aborts. */
  connected(signal?: AbortSignal): Promise<void> {
    if (this.isConnected) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const { unSubscribe } = this.pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected') finish()
        else if (state === 'failed' || state === 'closed') finish(new EngineError(ErrorCode.MediaLost, state))
      })
      const onAbort = (): void => finish(signal?.reason ?? new EngineError(ErrorCode.JoinCanceled, 'media'))
      const finish = (error?: unknown): void => {
        unSubscribe()
        signal?.removeEventListener('abort', onAbort)
        if (error === undefined) resolve()
        else reject(error)
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** False when the frame cannot go out now (not connected, or an Opus packet too large for RTP). */
  sendVideoFrame(frame: EncodedVideoFrame): boolean {
    const kind = frame.track === 'screen' ? 'screen' : 'video'
    return this.sendFrame(kind, frame.data, frame.timestamp, frame.temporalLayerId)
  }

  sendAudioFrame(frame: EncodedAudioFrame): boolean {
    return this.sendFrame('audio', frame.data, frame.timestamp)
  }

  /**
   * The renderer could not decode `uid`'s video: a PLI on that user's m-line (rate-limited with the
   * engine's own). False when no m-line here carries their video.
   */
  requestRemoteKeyFrame(uid: number, track: VideoTrack = 'camera'): boolean {
    return !this.closed && this.remote.requestKeyFrameOf(uid, track === 'screen' ? 'screen' : 'video')
  }

  /** The remote users whose video arrives now (for the per-user statistics). */
  remoteVideoUids(): number[] {
    return this.closed ? [] : this.remote.videoUids()
  }

  /**
   * werift's view (ICE and RTCP round trips, loss), the TURN round trip to the proxy, the send target and
   * the size of the video we send, for the statistics.
   */
  async peerStats(): Promise<PeerStatsSample> {
    const sample = fromWeriftStats((await this.pc.getStats()).values())
    const turnRttMs = this.turnRtt.sample()
    const size = this.sentVideoSize
    return {
      ...sample,
      ...(turnRttMs === undefined ? {} : { turnRttMs }),
      sendTargetBps: this.sendControl.targetBps(),
      ...(size === null ? {} : { txVideoWidth: size.width, txVideoHeight: size.height }),
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.pacer.close()
    this.sendControl.close()
    this.stallWatch.stop()
    this.guard.dispose()
    this.removeAllListeners()
    await this.unusedRelay?.()
    await this.pc.close().catch((error: unknown) => this.logger.warn({ err: error }, 'closing werift failed'))
  }

  /** `temporalLayerId` (video): the VP8 descriptor carries the layer (rtp/vp8Temporal.ts). */
  private sendFrame(
    kind: MediaKind,
    data: Uint8Array,
    timestampUs: number,
    temporalLayerId?: 0 | 1 | 2,
  ): boolean {
    if (!this.isConnected || data.length === 0) return false
    let packets: RtpPacket[]
    try {
      const rtpTimestamp = this.clocks[kind].toRtp(timestampUs)
      packets =
        kind === 'audio'
          ? this.packetizers.audio.packetize(data, rtpTimestamp)
          : this.packetizers[kind].packetize(data, rtpTimestamp, temporalLayerId)
    } catch (error) {
      this.logger.warn({ err: error, kind, bytes: data.length }, 'frame not sent')
      return false
    }
    if (kind === 'video') {
      this.counters.txVideoFrames++
      this.sentVideoSize = vp8KeyFrameSize(data) ?? this.sentVideoSize
    }
    if (kind === 'screen') this.sentScreen = true
    this.pacer.enqueue(
      isVideoKind(kind) ? 'video' : 'audio',
      packets.map((packet) => ({ kind, packet, layer: temporalLayerId ?? 0 })),
      (out) => out.packet.payload.length + RTP_HEADER_BYTES,
    )
    return true
  }

  private sendPacket({ kind, packet, layer }: Outgoing): void {
    this.counters.txBytes += packet.payload.length + RTP_HEADER_BYTES
    if (kind === 'audio') this.counters.txAudioPackets++
    else {
      this.counters.txVideoBytes += packet.payload.length + RTP_HEADER_BYTES
      this.retransmits[kind].sent(packet, layer)
    }
    this.sendControl.stamp(kind, packet)
    this.senders[kind].sender
      .sendRtp(packet)
      .catch((error: unknown) => this.logger.debug({ err: error, kind }, 'RTP send failed'))
  }

  private onTrack(track: MediaStreamTrack): void {
    if (this.seen.has(track)) return
    this.seen.add(track)
    const transceiver = this.pc.getTransceivers().find((t) => t.receiver.tracks.includes(track))
    if (!transceiver) return
    track.onReceiveRtp.subscribe((packet) => {
      const mid = transceiver.mid
      if (typeof mid !== 'string' || this.closed) return
      this.counters.rxBytes += packet.payload.length + RTP_HEADER_BYTES
      const { sequenceNumber, timestamp, marker } = packet.header
      this.remote.handleRtp(mid, { sequenceNumber, timestamp, marker, payload: packet.payload })
    })
  }

  private requestKeyFrame(mid: string): void {
    const transceiver = this.pc.getTransceivers().find((t) => t.mid === mid)
    const ssrc = transceiver?.receiver.tracks[0]?.ssrc
    if (!transceiver || ssrc === undefined) return
    this.logger.debug({ mid, uid: this.remote.uidOf(mid) }, 'asking for a key frame (PLI)')
    transceiver.receiver
      .sendRtcpPLI(ssrc)
      .catch((error: unknown) => this.logger.debug({ err: error }, 'PLI not sent'))
  }
}

/** werift's PeerConnection as the call uses it; NACKs ours, not werift's (docs/media.md "Recovery", 1). */
function enginePeerConnection(rtcConfig: RTCPeerConnectionConfig, clock: Clock): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    iceStunGatherTimeout: STUN_GATHER_TIMEOUT_S,
    ...rtcConfig,
    codecs: weriftCodecs(),
    headerExtensions: weriftHeaderExtensions(),
    bundlePolicy: 'max-bundle',
  })
  requestRetransmissions(pc, clock)
  return pc
}

/** The media path guard; the first drop of each kind is logged (the engine keeps no metrics registry). */
function guardMedia(pc: RTCPeerConnection, logger: EngineLogger): MediaGuard {
  const logged = new Set<string>()
  const once = (what: string, fields: object): void => {
    if (logged.has(what)) return
    logged.add(what)
    logger.warn(fields, `${what} dropped on the media socket (further drops are not logged)`)
  }
  return new MediaGuard(pc, {
    stunRejected: ([host, port]) => once('unauthenticated ICE check', { from: `${host}:${port}` }),
    foreignDatagram: ([host, port]) => once('datagram from a foreign address', { from: `${host}:${port}` }),
    dtlsRecordDropped: (reason) => once('DTLS record', { reason }),
  })
}
