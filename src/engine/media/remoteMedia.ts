import type { RemoteFrame } from '../../shared/engine'
import type { MediaKind, SubscriptionInfo, VideoKind } from '../../shared/signaling'
import { OPUS_CLOCK_RATE, OpusReceiver } from './rtp/opus'
import { RemoteVideoLedger } from './remoteVideoLedger'
import { RemoteMediaClock, Unwrapper } from './rtp/sequence'
import { parseVp8Descriptor, VP8_CLOCK_RATE } from './rtp/vp8'
import { Vp8Assembler, type AssemblerOptions, type RtpIn } from './rtp/vp8Assembler'

/**
 * What arrives on each receiving m-line, turned into frames with the publisher's uid. The server says which
 * publisher each m-line carries (`offer.subscriptions`, docs/sfu.md); an m-line reused for another
 * publisher starts a fresh stream (new reassembly, new clock). Video waits for a key frame and asks for one
 * (PLI, rate-limited) whenever a frame is lost, when a stream freezes (packets arrive, no frame for
 * FREEZE_MS: remoteVideoLedger.ts) and when the renderer asks (its decoder failed); every video packet and
 * frame is entered in the call's ledger for the per-user statistics. Audio packets are frames. A shared
 * screen (`kind: 'screen'`) is video with the same reassembly and key-frame requests, tagged `track:
 * 'screen'`; it stays out of the ledger, whose figures and freeze detection are the camera's.
 */

export interface RemoteStreamsDeps {
  frame(kind: MediaKind, frame: RemoteFrame): void
  /** Ask the publisher on this m-line for a key frame (an RTCP PLI on its receiver). */
  requestKeyFrame(mid: string): void
  /** Milliseconds (monotonic). */
  now(): number
  assembler?: AssemblerOptions
  keyFrameRequestIntervalMs?: number
  /** The call's (it outlives this PeerConnection); default: one of its own. */
  ledger?: RemoteVideoLedger
}

export const REMOTE_DEFAULTS = { keyFrameRequestIntervalMs: 500 } as const
/** RTP fixed header, counted with the payload as the call's counters do. */
const RTP_HEADER_BYTES = 12

interface Stream {
  info: SubscriptionInfo
  clock: RemoteMediaClock
  video?: Vp8Assembler
  audio?: OpusReceiver
  lastKeyFrameRequest?: number
  /** Video: extended sequence numbers, and the highest seen (loss, RFC 3550 §A.3). */
  sequence?: Unwrapper
  highestSeq?: number
}

export class RemoteStreams {
  private subscriptions = new Map<string, SubscriptionInfo>()
  private readonly streams = new Map<string, Stream>()
  /** Packets on an m-line no subscription names (the moment between an unsubscribe and its offer). */
  unrouted = 0
  readonly ledger: RemoteVideoLedger

  constructor(private readonly deps: RemoteStreamsDeps) {
    this.ledger = deps.ledger ?? new RemoteVideoLedger()
  }

  /** From each offer: the m-lines that carry someone, and whom. */
  setSubscriptions(subscriptions: readonly SubscriptionInfo[]): void {
    this.subscriptions = new Map(subscriptions.map((s) => [s.mid, s]))
    for (const [mid, stream] of this.streams) {
      const now = this.subscriptions.get(mid)
      if (now && now.uid === stream.info.uid && now.trackId === stream.info.trackId) continue
      this.streams.delete(mid)
      if (stream.info.kind === 'video') this.ledger.streamEnded(stream.info.uid, this.deps.now())
    }
  }

  /** The users whose camera video arrives on some m-line now. */
  videoUids(): number[] {
    return [...this.streams.values()].filter((s) => s.info.kind === 'video').map((s) => s.info.uid)
  }

  /**
   * Asks `uid`'s publisher for a key frame (the renderer's decoder failed), under the same rate limit as the
   * engine's own requests. False when no m-line carries that user's video.
   */
  requestKeyFrameOf(uid: number, kind: VideoKind = 'video'): boolean {
    for (const [mid, info] of this.subscriptions) {
      if (info.uid !== uid || info.kind !== kind) continue
      const stream = this.streamFor(mid)
      if (stream) this.keyFrameNeeded(mid, stream, this.deps.now())
      return stream !== undefined
    }
    return false
  }

  uidOf(mid: string): number | undefined {
    return this.subscriptions.get(mid)?.uid
  }

  handleRtp(mid: string, packet: RtpIn): void {
    const stream = this.streamFor(mid)
    if (!stream) return void this.unrouted++
    const now = this.deps.now()
    const { uid } = stream.info
    if (stream.audio) {
      const frame = stream.audio.push(packet)
      if (frame) {
        const timestampUs = stream.clock.toMicroseconds(frame.rtpTimestamp, now * 1000)
        this.deps.frame('audio', { uid, data: frame.data, timestampUs, keyFrame: true })
      }
      return
    }
    const result = stream.video!.push(packet, now)
    if (stream.info.kind === 'screen') {
      for (const frame of result.frames) {
        const timestampUs = stream.clock.toMicroseconds(frame.rtpTimestamp, now * 1000)
        const { data, keyFrame } = frame
        this.deps.frame('screen', { uid, data, timestampUs, keyFrame, track: 'screen' })
      }
      if (result.keyFrameNeeded) this.keyFrameNeeded(mid, stream, now)
      return
    }
    for (const frame of result.frames) {
      const timestampUs = stream.clock.toMicroseconds(frame.rtpTimestamp, now * 1000)
      this.ledger.frame(uid, now, frame.data, frame.keyFrame, frame.rtpTimestamp)
      this.deps.frame('video', { uid, data: frame.data, timestampUs, keyFrame: frame.keyFrame })
    }
    const frozen = this.ledger.packet(
      uid,
      now,
      packet.payload.length + RTP_HEADER_BYTES,
      this.newlyExpected(stream, packet.sequenceNumber),
      parseVp8Descriptor(packet.payload)?.temporalLayerId,
    )
    if (result.keyFrameNeeded || frozen) this.keyFrameNeeded(mid, stream, now)
  }

  /** How far this packet moves the stream's highest sequence number (0 for a late or repeated one). */
  private newlyExpected(stream: Stream, sequenceNumber: number): number {
    stream.sequence ??= new Unwrapper(16)
    const seq = stream.sequence.unwrap(sequenceNumber)
    const moved = stream.highestSeq === undefined ? 1 : Math.max(0, seq - stream.highestSeq)
    if (moved > 0) stream.highestSeq = seq
    return moved
  }

  private keyFrameNeeded(mid: string, stream: Stream, now: number): void {
    const interval = this.deps.keyFrameRequestIntervalMs ?? REMOTE_DEFAULTS.keyFrameRequestIntervalMs
    if (stream.lastKeyFrameRequest !== undefined && now - stream.lastKeyFrameRequest < interval) return
    stream.lastKeyFrameRequest = now
    this.deps.requestKeyFrame(mid)
  }

  private streamFor(mid: string): Stream | undefined {
    const existing = this.streams.get(mid)
    if (existing) return existing
    const info = this.subscriptions.get(mid)
    if (!info) return undefined
    const stream: Stream =
      info.kind === 'audio'
        ? { info, clock: new RemoteMediaClock(OPUS_CLOCK_RATE), audio: new OpusReceiver() }
        : { info, clock: new RemoteMediaClock(VP8_CLOCK_RATE), video: new Vp8Assembler(this.deps.assembler) }
    this.streams.set(mid, stream)
    return stream
  }
}
