import { mediaProblem, type MediaProblem } from '../logic/mediaProblems'
import type { MediaUp, SendTarget, TemporalLayerId } from '../../shared/mediaPort'
import { KeyFrames } from '../logic/keyFrames'
import { RateTrim } from '../logic/rateTrim'
import { keepFrame, RUNGS, SendLadder, worthReconfiguring, type EncoderSettings } from '../logic/sendLadder'
import { isBt601Yuv } from './bt601'
import { FrameScaler } from './frameScaler'

/** What the camera gives and the app sends on a good link (docs/renderer.md "Media"): 640x360 at 30 fps. */
export const VIDEO_WIDTH = RUNGS[0]!.width
export const VIDEO_HEIGHT = RUNGS[0]!.height
export const VIDEO_FPS = RUNGS[0]!.fps
/** Frames waiting in the encoder beyond this are dropped at capture: latency over completeness. */
const MAX_ENCODE_QUEUE = 2
/**
 * VP8 with three temporal layers (docs/media.md): the conference server thins the one stream per subscriber
 * by dropping layers 2 then 1, with no key frame needed to switch.
 */
const SCALABILITY_MODE = 'L1T3'

export type PostMedia = (message: MediaUp, transfer: Transferable[]) => void

function temporalLayer(metadata: EncodedVideoChunkMetadata | undefined): TemporalLayerId | undefined {
  const id = metadata?.svc?.temporalLayerId
  return id === 0 || id === 1 || id === 2 ? id : undefined
}

/**
 * Camera track → WebCodecs VP8 (L1T3) → MediaUp, following the engine's send target (applyTarget): bitrate,
 * then size, then frame rate, the last two only while the encoder's measured output fills its budget
 * (logic/sendLadder.ts). Stopping stops the track (the camera light goes off).
 */
export class VideoSender {
  private readonly encoder: VideoEncoder
  private readonly ladder = new SendLadder()
  private readonly keyFrames = new KeyFrames()
  private readonly trim = new RateTrim(performance.now())
  /** What the encoder is configured with; null until the layer check has answered. */
  private current: EncoderSettings | null = null
  private layers = false
  private lastKeptUs: number | null = null
  /** Added to the capture's timestamps: a new camera's clock continues the old one's (replaceTrack). */
  private shiftUs = 0
  private lastInputUs: number | null = null
  private rebase = false
  private reader: ReadableStreamDefaultReader<VideoFrame> | null = null
  private readonly scaler = new FrameScaler()
  private stopped = false

  constructor(
    private track: MediaStreamTrack,
    private readonly post: PostMedia,
    private readonly onError: (problem: MediaProblem) => void,
  ) {
    this.encoder = new VideoEncoder({
      output: (chunk, metadata) => this.output(chunk, metadata),
      error: (error) => this.onError(mediaProblem('videoEncoderStopped', { error })),
    })
    void this.start()
    void this.pump()
  }

  requestKeyFrame(): void {
    this.keyFrames.request()
  }

  applyTarget(target: SendTarget): void {
    this.ladder.setTarget(target.bitrateBps, performance.now())
    this.follow()
  }

  /**
   * Another camera mid-call (docs/app.md "Devices"): the encoder, its settings and the call stay; the new
   * camera's first frame is a key frame, and its timestamps go on from the old one's (two cameras' clocks
   * differ, and a step back would read as a repeated frame).
   */
  replaceTrack(track: MediaStreamTrack): void {
    if (this.stopped) {
      track.stop()
      return
    }
    const old = this.track
    const reader = this.reader
    this.track = track
    this.rebase = true
    this.keyFrames.requestNow()
    old.stop()
    void reader?.cancel().catch(() => undefined)
    void this.pump()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.track.stop()
    void this.reader?.cancel().catch(() => undefined)
    if (this.encoder.state !== 'closed') this.encoder.close()
  }

  /** Temporal layers when the browser's VP8 encoder has them; one layer (and a logged reason) otherwise. */
  private async start(): Promise<void> {
    const probe = { ...this.config(this.ladder.settings()), scalabilityMode: SCALABILITY_MODE }
    const support = await VideoEncoder.isConfigSupported(probe).catch((error: unknown) => ({
      supported: false,
      reason: String(error),
    }))
    if (this.stopped) return
    this.layers = support.supported === true
    if (!this.layers) {
      console.warn(
        `VP8 ${SCALABILITY_MODE} is not supported here (${'reason' in support ? support.reason : 'isConfigSupported said no'}): ` +
          'sending one layer, which the conference server cannot thin per subscriber.',
      )
    }
    this.configure(this.ladder.settings(), true)
  }

  private config(settings: EncoderSettings): VideoEncoderConfig {
    return {
      codec: 'vp8',
      width: settings.width,
      height: settings.height,
      framerate: settings.fps,
      bitrate: settings.bitrateBps,
      latencyMode: 'realtime',
      ...(this.layers ? { scalabilityMode: SCALABILITY_MODE } : {}),
    }
  }

  /**
   * Chromium's VP8 encoder takes a new bitrate or frame rate with no key frame and keeps the temporal layer
   * pattern going (e2e/media/encoderTarget.test.ts); a new size starts again with a key frame.
   */
  private configure(settings: EncoderSettings, resize: boolean): void {
    if (this.encoder.state === 'closed') return
    this.encoder.configure(this.config(settings))
    this.current = settings
    this.trim.reconfigured(performance.now(), resize)
  }

  /**
   * Reconfigures when the ladder has moved far enough (logic/sendLadder.ts), asking for the budget scaled by
   * what the encoder has been sending against it (logic/rateTrim.ts; from the whole budget at a new size).
   */
  private follow(): void {
    const current = this.current
    if (!current) return
    const wanted = this.ladder.settings()
    const resize =
      wanted.width !== current.width || wanted.height !== current.height || wanted.fps !== current.fps
    const scale = resize ? 1 : this.trim.scale
    const next = { ...wanted, bitrateBps: Math.round(wanted.bitrateBps * scale) }
    if (worthReconfiguring(current, next)) this.configure(next, resize)
  }

  private async pump(): Promise<void> {
    const track = this.track
    const processor = new MediaStreamTrackProcessor<VideoFrame>({ track })
    const reader = processor.readable.getReader()
    this.reader = reader
    for (;;) {
      const { value: frame, done } = await reader.read()
      // A replaced camera's reader ends here; its last frames are not sent.
      if (done || this.stopped || track !== this.track) {
        frame?.close()
        return
      }
      this.encode(this.restamp(frame))
    }
  }

  /** The frame on the sender's one clock: shifted after a camera switch (replaceTrack). */
  private restamp(frame: VideoFrame): VideoFrame {
    if (this.rebase) {
      this.rebase = false
      const next = this.lastInputUs === null ? frame.timestamp : this.lastInputUs + 1_000_000 / VIDEO_FPS
      this.shiftUs = next - frame.timestamp
    }
    this.lastInputUs = frame.timestamp + this.shiftUs
    if (this.shiftUs === 0) return frame
    const shifted = new VideoFrame(frame, { timestamp: frame.timestamp + this.shiftUs })
    frame.close()
    return shifted
  }

  private encode(captured: VideoFrame): void {
    const now = performance.now()
    this.ladder.tick(now)
    this.follow()
    const settings = this.current
    if (
      !settings ||
      this.encoder.state !== 'configured' ||
      this.encoder.encodeQueueSize > MAX_ENCODE_QUEUE ||
      !keepFrame(this.lastKeptUs, captured.timestamp, settings.fps)
    ) {
      captured.close()
      return
    }
    this.lastKeptUs = captured.timestamp
    const frame = this.fit(captured, settings)
    const keyFrame = this.keyFrames.due(now, settings.bitrateBps)
    if (keyFrame) this.keyFrames.sent(now)
    this.encoder.encode(frame, { keyFrame })
    frame.close()
  }

  /**
   * The encoder takes BT.601 YUV as it is (bt601.ts): at the size it encodes, or at the camera's 640x360,
   * which it scales down itself in YUV. Any other frame (another size, a camera that labels its frames BT.709
   * or full range, RGB) is drawn, which Chromium does with the frame's own colour space, and the pixels
   * converted to BT.601 here: the encoder's own RGB conversion gives BT.709 full range, which the receiver
   * would draw with the wrong matrix and range.
   */
  private fit(frame: VideoFrame, { width, height }: EncoderSettings): VideoFrame {
    const w = frame.displayWidth
    const h = frame.displayHeight
    const sized = (w === width && h === height) || (w === VIDEO_WIDTH && h === VIDEO_HEIGHT)
    if (sized && isBt601Yuv(frame.format, frame.colorSpace)) return frame
    return this.scaler.toBt601(frame, width, height)
  }

  private output(chunk: EncodedVideoChunk, metadata: EncodedVideoChunkMetadata | undefined): void {
    const keyFrame = chunk.type === 'key'
    const now = performance.now()
    if (keyFrame) {
      this.keyFrames.sent(now)
      this.keyFrames.keyFrameBytes(chunk.byteLength)
    }
    const trimmed = this.trim.onChunk(chunk.byteLength, keyFrame, this.ladder.settings().bitrateBps, now)
    const sent = this.trim.takeMeasurement()
    if (sent !== null) this.ladder.measured(sent, now)
    if (trimmed || sent !== null) this.follow()
    const data = new ArrayBuffer(chunk.byteLength)
    chunk.copyTo(data)
    const layer = this.layers ? temporalLayer(metadata) : undefined
    this.post(
      {
        kind: 'video',
        data,
        timestampUs: Math.max(0, chunk.timestamp),
        keyFrame,
        ...(layer === undefined ? {} : { temporalLayerId: layer }),
      },
      [data],
    )
  }
}
