/**
 * The picture size a VP8 key frame declares (RFC 6386 §9.1): after the 3-byte frame tag (bit 0 of the
 * first byte is 0 on a key frame) come the start code 9d 01 2a and two little-endian 16-bit words, each a
 * 14-bit dimension under a 2-bit upscaling hint. Null for an inter frame or bytes that are not one.
 */
export function vp8KeyFrameSize(frame: Uint8Array): { width: number; height: number } | null {
  if (frame.length < 10 || (frame[0]! & 0x01) !== 0) return null
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return null
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff
  return width > 0 && height > 0 ? { width, height } : null
}
