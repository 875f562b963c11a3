import { rgbaToI420, VP8_COLOR_SPACE } from './bt601'

/**
 * Draws a frame at the encoded size and converts it to BT.601 limited-range I420 (docs/media.md "Colours"):
 * what the camera's and the screen's senders do with any frame that is not already that (the receiver
 * decodes every video as BT.601). One canvas, kept while the size stays.
 */
export class FrameScaler {
  private canvas: OffscreenCanvas | null = null

  /** The converted frame (the input is closed), or the input itself when no 2D context is available. */
  toBt601(frame: VideoFrame, width: number, height: number): VideoFrame {
    if (this.canvas?.width !== width || this.canvas.height !== height)
      this.canvas = new OffscreenCanvas(width, height)
    const context = this.canvas.getContext('2d', { willReadFrequently: true })
    if (!context) return frame
    context.drawImage(frame, 0, 0, width, height)
    const pixels = context.getImageData(0, 0, width, height).data
    const converted = new VideoFrame(rgbaToI420(pixels, width, height), {
      format: 'I420',
      codedWidth: width,
      codedHeight: height,
      timestamp: frame.timestamp,
      colorSpace: VP8_COLOR_SPACE,
    })
    frame.close()
    return converted
  }
}
