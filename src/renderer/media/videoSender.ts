import type { MediaUp } from '../../shared/mediaPort'

/** DESIGN.md §5 / issue 5: VP8 640x360 at 30 fps, realtime. */
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

  /** The encoder is configured for 640x360; a camera that gives another size is scaled onto it. */
  private fit(frame: VideoFrame): VideoFrame {
    if (frame.displayWidth === VIDEO_WIDTH && frame.displayHeight === VIDEO_HEIGHT) return frame
    this.scaler ??= new OffscreenCanvas(VIDEO_WIDTH, VIDEO_HEIGHT)
    const context = this.scaler.getContext('2d')
    if (!context) return frame
    context.drawImage(frame, 0, 0, VIDEO_WIDTH, VIDEO_HEIGHT)
    const scaled = new VideoFrame(this.scaler, { timestamp: frame.timestamp })
    frame.close()
    return scaled
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
