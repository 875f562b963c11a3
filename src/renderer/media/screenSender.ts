import { KeyFrames } from '../logic/keyFrames'
import { DEFAULT_SCREEN_BPS, FramePacer, SCREEN_MIN_FPS, screenSettings } from '../logic/screenShare'
import { worthReconfiguring, type EncoderSettings } from '../logic/sendLadder'
import { isBt601Yuv } from './bt601'
import { FrameScaler } from './frameScaler'
import type { PostMedia } from './videoSender'

/** Frames waiting in the encoder beyond this are dropped at capture: latency over completeness. */
const MAX_ENCODE_QUEUE = 2
/**
 * A screen that does not change gives no frames (Chromium's capture sends a frame per change). The last
 * frame is encoded again at the least frame rate meanwhile: a late joiner's key frame request and a
 * receiver's recovery after a loss are served, and the picture stays current after a lost delta.
 */
const REPEAT_INTERVAL_MS = 1000 / SCREEN_MIN_FPS

/**
 * A shared screen or window → WebCodecs VP8 (one layer) → MediaUp `track: 'screen'`. Content-tuned
 * (logic/screenShare.ts): up to 1920x1080 at 5–15 fps with more bits per pixel than the camera; the size
 * and frame rate follow the budget the camera leaves it (splitSendTarget). Key frames on request, limited
 * as the camera's are (logic/keyFrames.ts). Stopping stops the capture (the OS's sharing indicator goes).
 */
export class ScreenSender {
  private readonly encoder: VideoEncoder
  private readonly keyFrames = new KeyFrames()
  private budgetBps = DEFAULT_SCREEN_BPS
  private current: EncoderSettings | null = null
  private source = { width: 0, height: 0 }
  private readonly pacer = new FramePacer()
  private lastFrame: VideoFrame | null = null
  private lastEncodedMs = 0
  private readonly repeat: ReturnType<typeof setInterval>
  private reader: ReadableStreamDefaultReader<VideoFrame> | null = null
  private readonly scaler = new FrameScaler()
  private stopped = false

  constructor(
    private readonly track: MediaStreamTrack,
    private readonly post: PostMedia,
    private readonly onError: (error: Error) => void,
  ) {
    // The browser's capture and the encoder favour sharp edges over smooth motion (text, not faces).
    track.contentHint = 'detail'
    this.encoder = new VideoEncoder({
      output: (chunk) => this.output(chunk),
      error: (error) => this.onError(error),
    })
    this.repeat = setInterval(() => this.repeatLast(), REPEAT_INTERVAL_MS)
    void this.pump()
  }

  /** Frames and bytes the encoder has put out so far (the share control's figures). */
  readonly sent = { frames: 0, bytes: 0 }

  /** The encoder's settings (null until the first frame has given the source's size). */
  settings(): EncoderSettings | null {
    return this.current
  }

  requestKeyFrame(): void {
    this.keyFrames.request()
  }

  /** The share's part of the send target (splitSendTarget's `screenBps`). */
  setBudget(bitrateBps: number): void {
    this.budgetBps = bitrateBps
    this.follow()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.repeat)
    this.track.stop()
    this.lastFrame?.close()
    this.lastFrame = null
    void this.reader?.cancel().catch(() => undefined)
    if (this.encoder.state !== 'closed') this.encoder.close()
  }

  private config(settings: EncoderSettings): VideoEncoderConfig {
    return {
      codec: 'vp8',
      width: settings.width,
      height: settings.height,
      framerate: settings.fps,
      bitrate: settings.bitrateBps,
      latencyMode: 'realtime',
      // WebCodecs' hint for screen content (Chromium ≥ 124 tunes its encoder for text); ignored elsewhere.
      ...({ contentHint: 'detail' } as object),
    }
  }

  private follow(): void {
    if (this.source.width === 0 || this.encoder.state === 'closed') return
    const next = screenSettings(this.source.width, this.source.height, this.budgetBps)
    const current = this.current
    if (current && !worthReconfiguring(current, next)) return
    this.encoder.configure(this.config(next))
    this.current = next
  }

  private async pump(): Promise<void> {
    const processor = new MediaStreamTrackProcessor<VideoFrame>({ track: this.track })
    this.reader = processor.readable.getReader()
    for (;;) {
      const { value: frame, done } = await this.reader
        .read()
        .catch((): ReadableStreamReadDoneResult<VideoFrame> => ({ value: undefined, done: true }))
      if (done || this.stopped) {
        frame?.close()
        return
      }
      this.capture(frame)
    }
  }

  private capture(captured: VideoFrame): void {
    const { displayWidth: width, displayHeight: height } = captured
    // A window resized, or the first frame: the settings follow the source's size.
    if (width !== this.source.width || height !== this.source.height) {
      this.source = { width, height }
      this.follow()
    }
    const settings = this.current
    // One clock for captured and repeated frames (the capture's own timestamps have another origin).
    const timestamp = Math.round(performance.now() * 1000)
    if (!settings || !this.pacer.take(timestamp, settings.fps)) {
      captured.close()
      return
    }
    const frame = this.fit(captured, settings)
    this.lastFrame?.close()
    this.lastFrame = frame
    this.encode(new VideoFrame(frame, { timestamp }))
  }

  private repeatLast(): void {
    const last = this.lastFrame
    if (!last || this.stopped || performance.now() - this.lastEncodedMs < REPEAT_INTERVAL_MS) return
    const timestamp = Math.round(performance.now() * 1000)
    this.pacer.took(timestamp, this.current?.fps ?? SCREEN_MIN_FPS)
    this.encode(new VideoFrame(last, { timestamp }))
  }

  private encode(frame: VideoFrame): void {
    const now = performance.now()
    if (this.encoder.state !== 'configured' || this.encoder.encodeQueueSize > MAX_ENCODE_QUEUE) {
      frame.close()
      return
    }
    const keyFrame = this.keyFrames.due(now)
    if (keyFrame) this.keyFrames.sent(now)
    this.lastEncodedMs = now
    this.encoder.encode(frame, { keyFrame })
    frame.close()
  }

  /**
   * BT.601 YUV goes to the encoder as it is, at any size (it scales in YUV); anything else (a canvas, an RGB
   * capture, BT.709) is drawn at the encoded size and converted here, as the camera's sender does
   * (videoSender.ts): the receiver decodes every video as BT.601.
   */
  private fit(frame: VideoFrame, { width, height }: EncoderSettings): VideoFrame {
    if (isBt601Yuv(frame.format, frame.colorSpace)) return frame
    return this.scaler.toBt601(frame, width, height)
  }

  private output(chunk: EncodedVideoChunk): void {
    const keyFrame = chunk.type === 'key'
    if (keyFrame) this.keyFrames.sent(performance.now())
    this.sent.frames++
    this.sent.bytes += chunk.byteLength
    const data = new ArrayBuffer(chunk.byteLength)
    chunk.copyTo(data)
    this.post({ kind: 'video', data, timestampUs: Math.max(0, chunk.timestamp), keyFrame, track: 'screen' }, [
      data,
    ])
  }
}
