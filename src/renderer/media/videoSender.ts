import type { MediaUp } from '../../shared/mediaPort'
import { isBt601Yuv, rgbaToI420, VP8_COLOR_SPACE } from './bt601'

/** What the app sends (docs/renderer.md "Media"): VP8 640x360 at 30 fps, realtime. */
export const VIDEO_WIDTH = 640
export const VIDEO_HEIGHT = 360
export const VIDEO_FPS = 30
export const VIDEO_BITRATE = 800_000
/** A key frame at least this often even if nobody asks (a late PLI costs less then). */
const KEY_FRAME_INTERVAL = 300
/** Frames waiting in the encoder beyond this are dropped at capture: latency over completeness. */
const MAX_ENCODE_QUEUE = 2

export type PostMedia = (message: MediaUp, transfer: Transferable[]) => void

/** Camera track → WebCodecs VP8 → MediaUp. Stopping stops the track (the camera light goes off). */
export class VideoSender {
  private readonly encoder: VideoEncoder
  private reader: ReadableStreamDefaultReader<VideoFrame> | null = null
  private forceKeyFrame = true
  private frames = 0
  private scaler: OffscreenCanvas | null = null
  private stopped = false

  constructor(
    private readonly track: MediaStreamTrack,
    private readonly post: PostMedia,
    private readonly onError: (sentence: string) => void,
  ) {
    this.encoder = new VideoEncoder({
      output: (chunk) => this.output(chunk),
      error: (error) => this.onError(`The video encoder stopped: ${error.message}`),
    })
    this.encoder.configure({
      codec: 'vp8',
      width: VIDEO_WIDTH,
      height: VIDEO_HEIGHT,
      framerate: VIDEO_FPS,
      bitrate: VIDEO_BITRATE,
      latencyMode: 'realtime',
    })
    void this.pump()
  }

  requestKeyFrame(): void {
    this.forceKeyFrame = true
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.track.stop()
    void this.reader?.cancel().catch(() => undefined)
    if (this.encoder.state !== 'closed') this.encoder.close()
  }

  private async pump(): Promise<void> {
    const processor = new MediaStreamTrackProcessor<VideoFrame>({ track: this.track })
    this.reader = processor.readable.getReader()
    for (;;) {
      const { value: frame, done } = await this.reader.read()
      if (done || this.stopped) {
        frame?.close()
        return
      }
      this.encode(frame)
    }
  }

  private encode(captured: VideoFrame): void {
    if (this.encoder.state !== 'configured' || this.encoder.encodeQueueSize > MAX_ENCODE_QUEUE) {
      captured.close()
      return
    }
    const frame = this.fit(captured)
    const keyFrame = this.forceKeyFrame || this.frames % KEY_FRAME_INTERVAL === 0
    this.forceKeyFrame = false
    this.frames++
    this.encoder.encode(frame, { keyFrame })
    frame.close()
  }

  /**
   * The encoder takes 640x360 BT.601 YUV as it is (bt601.ts). Any other frame (another size, a camera that
   * labels its frames BT.709 or full range, RGB) is drawn, which Chromium does with the frame's own colour
   * space, and the pixels converted to BT.601 here: the encoder's own RGB conversion gives BT.709 full range,
   * which the receiver would draw with the wrong matrix and range.
   */
  private fit(frame: VideoFrame): VideoFrame {
    const sized = frame.displayWidth === VIDEO_WIDTH && frame.displayHeight === VIDEO_HEIGHT
    if (sized && isBt601Yuv(frame.format, frame.colorSpace)) return frame
    this.scaler ??= new OffscreenCanvas(VIDEO_WIDTH, VIDEO_HEIGHT)
    const context = this.scaler.getContext('2d', { willReadFrequently: true })
    if (!context) return frame
    context.drawImage(frame, 0, 0, VIDEO_WIDTH, VIDEO_HEIGHT)
    const pixels = context.getImageData(0, 0, VIDEO_WIDTH, VIDEO_HEIGHT).data
    const converted = new VideoFrame(rgbaToI420(pixels, VIDEO_WIDTH, VIDEO_HEIGHT), {
      format: 'I420',
      codedWidth: VIDEO_WIDTH,
      codedHeight: VIDEO_HEIGHT,
      timestamp: frame.timestamp,
      colorSpace: VP8_COLOR_SPACE,
    })
    frame.close()
    return converted
  }

  private output(chunk: EncodedVideoChunk): void {
    const data = new ArrayBuffer(chunk.byteLength)
    chunk.copyTo(data)
    this.post(
      { kind: 'video', data, timestampUs: Math.max(0, chunk.timestamp), keyFrame: chunk.type === 'key' },
      [data],
    )
  }
}
