import type { RemoteFrame } from '../../shared/engine'
import type { MediaKind, SubscriptionInfo } from '../../shared/signaling'
import { OPUS_CLOCK_RATE, OpusReceiver } from './rtp/opus'
import { RemoteMediaClock } from './rtp/sequence'
import { VP8_CLOCK_RATE } from './rtp/vp8'
import { Vp8Assembler, type AssemblerOptions, type RtpIn } from './rtp/vp8Assembler'

/**
 * What arrives on each receiving m-line, turned into frames with the publisher's uid. The server says which
 * publisher each m-line carries (`offer.subscriptions`, docs/sfu.md); an m-line reused for another
 * publisher starts a fresh stream (new reassembly, new clock). Video waits for a key frame and asks for one
 * (PLI, rate-limited) whenever a frame is lost; audio packets are frames.
 */

export interface RemoteStreamsDeps {
  frame(kind: MediaKind, frame: RemoteFrame): void
  /** Ask the publisher on this m-line for a key frame (an RTCP PLI on its receiver). */
  requestKeyFrame(mid: string): void
  /** Milliseconds (monotonic). */
  now(): number
  assembler?: AssemblerOptions
  keyFrameRequestIntervalMs?: number
}

export const REMOTE_DEFAULTS = { keyFrameRequestIntervalMs: 500 } as const

interface Stream {
  info: SubscriptionInfo
  clock: RemoteMediaClock
  video?: Vp8Assembler
  audio?: OpusReceiver
  lastKeyFrameRequest?: number
}

export class RemoteStreams {
  private subscriptions = new Map<string, SubscriptionInfo>()
  private readonly streams = new Map<string, Stream>()
  /** Packets on an m-line no subscription names (the moment between an unsubscribe and its offer). */
  unrouted = 0

  constructor(private readonly deps: RemoteStreamsDeps) {}

  /** From each offer: the m-lines that carry someone, and whom. */
  setSubscriptions(subscriptions: readonly SubscriptionInfo[]): void {
    this.subscriptions = new Map(subscriptions.map((s) => [s.mid, s]))
    for (const [mid, stream] of this.streams) {
      const now = this.subscriptions.get(mid)
      if (!now || now.uid !== stream.info.uid || now.trackId !== stream.info.trackId) this.streams.delete(mid)
    }
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
    for (const frame of result.frames) {
      const timestampUs = stream.clock.toMicroseconds(frame.rtpTimestamp, now * 1000)
      this.deps.frame('video', { uid, data: frame.data, timestampUs, keyFrame: frame.keyFrame })
    }
    if (result.keyFrameNeeded) this.keyFrameNeeded(mid, stream, now)
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
