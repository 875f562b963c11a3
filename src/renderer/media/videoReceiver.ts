import { VP8_COLOR_SPACE } from './bt601'

/** One remote user's video: VP8 chunks → VideoDecoder (optimizeForLatency) → their tile's canvas. */
export class VideoReceiver {
  private decoder: VideoDecoder | null = null
  private canvas: HTMLCanvasElement | null = null
  private waitingForKey = true
  private framesDecoded = 0
  private lastFigures = { atMs: 0, frames: 0 }
  private fps = 0
  private rejected = 0

  constructor(private readonly onError: (sentence: string) => void) {}

  attach(canvas: HTMLCanvasElement | null): void {
    this.canvas = canvas
  }

  push(data: ArrayBuffer, timestampUs: number, keyFrame: boolean): void {
    // A decoder starts (and restarts after an error) at a key frame; the engine asks the sender for one
    // on loss (PLI), so deltas before it are dropped.
    if (this.waitingForKey && !keyFrame) return
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
      if (this.rejected === 1)
        this.onError(`A remote video frame was refused by the decoder: ${String(error)}`)
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
        this.onError(`A remote video could not be decoded: ${error.message}. Waiting for the next key frame.`)
        this.decoder = null
        this.waitingForKey = true
      },
    })
    // VP8 carries no colour space and Chromium would label the frames BT.709: say what the sender encodes.
    decoder.configure({ codec: 'vp8', optimizeForLatency: true, colorSpace: VP8_COLOR_SPACE })
    this.decoder = decoder
    return decoder
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
