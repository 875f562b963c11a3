import { mediaProblem, type MediaProblem } from '../logic/mediaProblems'
import { KeyFrameRequests } from '../logic/keyFrameRequests'
import { VP8_COLOR_SPACE } from './bt601'

/**
 * One remote user's video: VP8 chunks → VideoDecoder (optimizeForLatency) → their tile's canvas. When the
 * decoder fails, or frames arrive that it cannot decode without a key frame, it asks the engine for one
 * (`requestKeyFrame`: MediaUp keyFrameRequest, a PLI to that user; docs/media.md "Recovery").
 */
export class VideoReceiver {
  private decoder: VideoDecoder | null = null
  private canvas: HTMLCanvasElement | null = null
  private waitingForKey = true
  private framesDecoded = 0
  private lastFigures = { atMs: 0, frames: 0 }
  private fps = 0
  private rejected = 0
  private readonly requests = new KeyFrameRequests()

  constructor(
    private readonly onError: (problem: MediaProblem) => void,
    private readonly requestKeyFrame: () => void = () => undefined,
  ) {}

  attach(canvas: HTMLCanvasElement | null): void {
    this.canvas = canvas
  }

  push(data: ArrayBuffer, timestampUs: number, keyFrame: boolean): void {
    // A decoder starts (and restarts after an error) at a key frame; the engine asks the sender for one
    // on loss (PLI), so deltas before it are dropped; each one says the key frame has not come yet.
    if (this.waitingForKey && !keyFrame) return this.askForKeyFrame()
    const decoder = this.decoder ?? this.open()
    if (decoder.state !== 'configured') return
    this.waitingForKey = false
    try {
      decoder.decode(
        new EncodedVideoChunk({ type: keyFrame ? 'key' : 'delta', timestamp: timestampUs, data }),
      )
    } catch (error) {
      // decode() throws at once for a chunk it can tell is wrong (a "key" chunk that is not one): drop it
      // and start again at the next key frame rather than feed the decoder more of the same.
      this.rejected++
      this.waitingForKey = true
      this.askForKeyFrame()
      if (this.rejected === 1) this.onError(mediaProblem('videoRefused', { error }))
    }
  }

  /** Frames decoded so far and the rate since the previous call. */
  figures(nowMs: number): { framesDecoded: number; fps: number } {
    const elapsed = nowMs - this.lastFigures.atMs
    if (elapsed >= 500) {
      this.fps =
        this.lastFigures.atMs === 0 ? 0 : ((this.framesDecoded - this.lastFigures.frames) * 1000) / elapsed
      this.lastFigures = { atMs: nowMs, frames: this.framesDecoded }
    }
    return { framesDecoded: this.framesDecoded, fps: this.fps }
  }

  close(): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close()
    this.decoder = null
    this.canvas = null
  }

  private open(): VideoDecoder {
    const decoder = new VideoDecoder({
      output: (frame) => this.draw(frame),
      error: (error) => {
        this.onError(mediaProblem('videoUndecodable', { error }))
        this.decoder = null
        this.waitingForKey = true
        this.askForKeyFrame()
      },
    })
    // VP8 carries no colour space and Chromium would label the frames BT.709: say what the sender encodes.
    decoder.configure({ codec: 'vp8', optimizeForLatency: true, colorSpace: VP8_COLOR_SPACE })
    this.decoder = decoder
    return decoder
  }

  private askForKeyFrame(): void {
    if (this.requests.take(performance.now())) this.requestKeyFrame()
  }

  private draw(frame: VideoFrame): void {
    this.framesDecoded++
    const canvas = this.canvas
    if (canvas) {
      if (canvas.width !== frame.displayWidth) canvas.width = frame.displayWidth
      if (canvas.height !== frame.displayHeight) canvas.height = frame.displayHeight
      canvas.getContext('2d')?.drawImage(frame, 0, 0)
    }
    frame.close()
  }
}
