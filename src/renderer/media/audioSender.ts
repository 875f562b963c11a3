import { mediaProblem, type MediaProblem } from '../logic/mediaProblems'
import type { SendTarget } from '../../shared/mediaPort'
import { LevelMeter } from '../logic/audioLevel'
import { OpusPolicy, opusOptions, type OpusSettings } from '../logic/opusPolicy'
import type { PostMedia } from './videoSender'

/** 20 ms Opus frames (WebCodecs' default, said explicitly: the receiver's concealment counts on frames). */
const FRAME_US = 20_000

interface Format {
  sampleRate: number
  numberOfChannels: number
}

/**
 * One encoder's life. Chromium stamps an encoder's packets with its first input's timestamp plus the samples
 * it has taken since, so after capture dropped audio (a busy page) its clock runs behind the capture's: 1.4 s
 * behind, once, measured. `shiftUs` maps its timestamps onto the stream's, which the first encoder defines.
 * Its outputs at or after `untilUs` (stream time) belong to its successor and are dropped.
 */
interface Running {
  encoder: AudioEncoder
  shiftUs: number
  /** Its own timestamp of the next frame it will be given (its first input's, plus what it was fed). */
  nextUs: number | undefined
  fedSamples: number
  untilUs?: number
}

/**
 * Microphone track → WebCodecs Opus → MediaUp, with in-band FEC, DTX and a bitrate that follow the engine's
 * send target (logic/opusPolicy.ts). The encoder is configured from the first AudioData's format.
 *
 * A new setting means a new encoder (Chromium ignores new `opus` options on `configure()`), switched to
 * make-before-break: it starts on a frame boundary and gets the same audio as the old one, which keeps
 * sending until the new one's first packet comes out (a new encoder takes a moment to start: switching at
 * once left a gap of over 100 ms in the packets, measured on a busy machine). A packet is sent only if it
 * starts at least half a frame after the last one sent, so the two never overlap on the wire.
 */
export class AudioSender {
  private running: Running | null = null
  /** The previous encoder, still fed until `running` has sent its first packet. */
  private retiring: Running | null = null
  private format: Format | null = null
  /** Whether this Chromium takes the `opus` options (FEC, DTX): asked once, with the first format. */
  private opusOptions: Promise<boolean> | null = null
  private readonly policy = new OpusPolicy()
  private pending: OpusSettings | null = null
  /** The stream time of the last packet sent. */
  private lastSentUs = -Infinity
  /** The first encoder's shift after a restart (another microphone's format): the stream's time goes on. */
  private restartShiftUs = 0
  private reader: ReadableStreamDefaultReader<AudioData> | null = null
  private stopped = false
  /** The microphone's level as captured (after the browser's echo canceller and noise suppression). */
  private meter: LevelMeter | null = null

  constructor(
    private track: MediaStreamTrack,
    private readonly post: PostMedia,
    private readonly onError: (problem: MediaProblem) => void,
  ) {
    void this.pump()
  }

  /** The engine's send target (MediaDown `sendTarget`): switches FEC, expected loss and bitrate. */
  applyTarget(target: SendTarget): void {
    const next = this.policy.update(target, performance.now())
    if (next) this.pending = next
  }

  /**
   * Another microphone mid-call (docs/app.md "Devices"): the encoder goes on with the new track's audio;
   * its packets are stamped on the encoder's own clock (see Running), so the new track's timestamps do not
   * matter. A microphone with another format gets a new encoder (encode()).
   */
  replaceTrack(track: MediaStreamTrack): void {
    if (this.stopped) {
      track.stop()
      return
    }
    const old = this.track
    const reader = this.reader
    this.track = track
    old.stop()
    void reader?.cancel().catch(() => undefined)
    void this.pump()
  }

  /** The RMS of the last 100 ms captured, 0..1 (0 once stopped). */
  level(): number {
    return this.stopped ? 0 : (this.meter?.level ?? 0)
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.track.stop()
    void this.reader?.cancel().catch(() => undefined)
    for (const running of [this.running, this.retiring]) {
      if (running && running.encoder.state !== 'closed') running.encoder.close()
    }
  }

  private async pump(): Promise<void> {
    const track = this.track
    const processor = new MediaStreamTrackProcessor<AudioData>({ track })
    const reader = processor.readable.getReader()
    this.reader = reader
    for (;;) {
      const { value: data, done } = await reader.read()
      if (done || this.stopped || track !== this.track) {
        data?.close()
        return
      }
      this.measure(data)
      await this.encode(data)
    }
  }

  private measure(data: AudioData): void {
    const samples = new Float32Array(data.numberOfFrames)
    data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' })
    ;(this.meter ??= LevelMeter.forRate(data.sampleRate)).push(samples)
  }

  private async encode(data: AudioData): Promise<void> {
    if (this.format && !sameFormat(this.format, data)) this.restart(data)
    this.format ??= { sampleRate: data.sampleRate, numberOfChannels: data.numberOfChannels }
    const withOptions = await (this.opusOptions ??= this.checkOpusOptions(this.format))
    if (this.stopped) return data.close()
    const frameSamples = (this.format.sampleRate * FRAME_US) / 1_000_000
    const old = this.running
    if (!old) this.start(this.policy.current, withOptions, this.restartShiftUs)
    else if (this.pending && !this.retiring && old.fedSamples % frameSamples === 0) {
      // The new encoder's first frame is this audio, which the old one will stamp `old.nextUs`.
      this.retiring = old
      this.start(this.pending, withOptions, (old.nextUs ?? data.timestamp) + old.shiftUs - data.timestamp)
    }
    for (const running of [this.running, this.retiring]) {
      if (running?.encoder.state !== 'configured') continue
      running.encoder.encode(data)
      running.nextUs ??= data.timestamp
      running.fedSamples += data.numberOfFrames
      running.nextUs += (data.numberOfFrames * 1_000_000) / data.sampleRate
    }
    data.close()
  }

  /**
   * A new microphone with another rate or channel count: the encoders are closed and the next one starts
   * where the stream's time had got to.
   */
  private restart(data: AudioData): void {
    const old = this.running
    const nextStreamUs = old?.nextUs === undefined ? undefined : old.nextUs + old.shiftUs
    for (const running of [this.running, this.retiring]) {
      if (running && running.encoder.state !== 'closed') running.encoder.close()
    }
    this.running = null
    this.retiring = null
    this.format = null
    this.opusOptions = null
    this.restartShiftUs = nextStreamUs === undefined ? 0 : nextStreamUs - data.timestamp
  }

  private start(settings: OpusSettings, withOptions: boolean, shiftUs: number): void {
    const running: Running = {
      encoder: this.newEncoder(() => running),
      shiftUs,
      nextUs: undefined,
      fedSamples: 0,
    }
    running.encoder.configure(opusConfig(this.format!, settings, withOptions))
    this.running = running
    this.pending = null
  }

  private newEncoder(self: () => Running): AudioEncoder {
    return new AudioEncoder({
      output: (chunk) => this.output(self(), chunk),
      error: (error) => {
        if (self() === this.running) this.onError(mediaProblem('audioEncoderStopped', { error }))
      },
    })
  }

  private output(from: Running, chunk: EncodedAudioChunk): void {
    const at = chunk.timestamp + from.shiftUs
    if (from === this.running && this.retiring) this.retire(this.retiring, at)
    if (from.untilUs !== undefined && at >= from.untilUs) return
    // Half a frame: the two encoders' stamps of one frame may differ by rounding.
    if (at < this.lastSentUs + FRAME_US / 2) return
    this.lastSentUs = at
    const buffer = new ArrayBuffer(chunk.byteLength)
    chunk.copyTo(buffer)
    this.post({ kind: 'audio', data: buffer, timestampUs: Math.max(0, Math.round(at)) }, [buffer])
  }

  /** The new encoder sent its first packet (at `atUs`): the old one is flushed, and closed. */
  private retire(old: Running, atUs: number): void {
    this.retiring = null
    old.untilUs = atUs
    const encoder = old.encoder
    void encoder
      .flush()
      .catch(() => undefined)
      .finally(() => encoder.state !== 'closed' && encoder.close())
  }

  private async checkOpusOptions(format: Format): Promise<boolean> {
    const config = opusConfig(format, this.policy.current, true)
    try {
      const support = await AudioEncoder.isConfigSupported(config)
      if (support.supported === true) return true
      console.warn('Opus FEC/DTX not supported by this AudioEncoder: sending plain Opus', config.opus)
    } catch (error) {
      console.warn('Opus FEC/DTX options refused: sending plain Opus', error)
    }
    return false
  }
}

function sameFormat(format: Format, data: AudioData): boolean {
  return format.sampleRate === data.sampleRate && format.numberOfChannels === data.numberOfChannels
}

function opusConfig(format: Format, settings: OpusSettings, withOptions: boolean): AudioEncoderConfig {
  const config: AudioEncoderConfig = {
    codec: 'opus',
    sampleRate: format.sampleRate,
    numberOfChannels: format.numberOfChannels,
    bitrate: settings.bitrate,
  }
  if (withOptions) config.opus = opusOptions(settings, FRAME_US)
  return config
}
