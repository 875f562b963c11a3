/**
 * Encoded frames as the app hands them over and gets them back: WebCodecs' chunks, so the renderer's encoder
 * and decoder need no conversion.
 */

/** An encoded video frame as WebCodecs' EncodedVideoChunk gives it: VP8 bytes, timestamp in µs. */
export interface EncodedVideoFrame {
  data: Uint8Array
  timestamp: number
  keyframe: boolean
}

/** An encoded audio frame (EncodedAudioChunk): one Opus packet, timestamp in µs. */
export interface EncodedAudioFrame {
  data: Uint8Array
  timestamp: number
}
