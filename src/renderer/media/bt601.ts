/**
 * The one colour space of Pinhole's video: BT.601 ("smpte170m") YUV, limited range (Y 16–235, Cb/Cr 16–240).
 *
 * A VP8 stream says nothing more about its colours than RFC 6386's one `color_space` bit, whose only defined
 * value (0) is BT.601, so sender and receiver have to agree on it by themselves: Chromium's VideoDecoder
 * labels VP8 output BT.709 unless its config says otherwise (BT.601 bytes drawn with BT.709 turn green
 * 190 into 161), and Chromium's VideoEncoder turns RGB input into BT.709 full range. Both ends therefore fix
 * it: the receiver configures its decoder with this colour space, the sender encodes only BT.601 YUV and
 * converts every other frame (rgbaToI420) before the encoder sees it. It is also what Chromium's capture
 * gives and assumes for a frame with no colour space, so the common camera frame passes untouched.
 */
export const VP8_COLOR_SPACE = {
  primaries: 'smpte170m',
  transfer: 'smpte170m',
  matrix: 'smpte170m',
  fullRange: false,
} as const satisfies VideoColorSpaceInit

/** The YUV layouts VP8 encoders take as they are (their planes are copied, never re-matrixed). */
const YUV_FORMATS = new Set(['I420', 'I420A', 'NV12'])

/** BT.601 matrices; an unset one is BT.601 too, as Chromium draws such a frame. */
const BT601_MATRICES = new Set([null, undefined, 'smpte170m', 'bt470bg'])

/** A frame's bytes already are Pinhole's colour space: YUV 4:2:0, BT.601 matrix, limited range. */
export function isBt601Yuv(
  format: string | null,
  colorSpace: { matrix?: string | null; fullRange?: boolean | null },
): boolean {
  return (
    format !== null &&
    YUV_FORMATS.has(format) &&
    BT601_MATRICES.has(colorSpace.matrix) &&
    colorSpace.fullRange !== true
  )
}

/**
 * RGBA pixels (as a canvas reads them; even width and height) → I420 planes (Y, then Cb, then Cr), BT.601
 * limited range in 8-bit fixed point (ITU-R BT.601 coefficients scaled by 256). Each chroma sample is the
 * mean of its 2x2 block.
 */
export function rgbaToI420(rgba: ArrayLike<number>, width: number, height: number): Uint8Array {
  const out = new Uint8Array((width * height * 3) / 2)
  const chromaWidth = width / 2
  const uOffset = width * height
  const vOffset = uOffset + chromaWidth * (height / 2)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4
      out[y * width + x] = ((66 * rgba[i]! + 129 * rgba[i + 1]! + 25 * rgba[i + 2]! + 128) >> 8) + 16
    }
  }
  for (let cy = 0; cy < height / 2; cy++) {
    for (let cx = 0; cx < chromaWidth; cx++) {
      const top = (2 * cy * width + 2 * cx) * 4
      const bottom = top + width * 4
      // Sums of 4 pixels: the coefficients' extra factor 4 is taken out by the shift (>> 10 = / 256 / 4).
      const r = rgba[top]! + rgba[top + 4]! + rgba[bottom]! + rgba[bottom + 4]!
      const g = rgba[top + 1]! + rgba[top + 5]! + rgba[bottom + 1]! + rgba[bottom + 5]!
      const b = rgba[top + 2]! + rgba[top + 6]! + rgba[bottom + 2]! + rgba[bottom + 6]!
      const c = cy * chromaWidth + cx
      out[uOffset + c] = ((-38 * r - 74 * g + 112 * b + 512) >> 10) + 128
      out[vOffset + c] = ((112 * r - 94 * g - 18 * b + 512) >> 10) + 128
    }
  }
  return out
}
