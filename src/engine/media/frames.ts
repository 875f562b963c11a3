import type { VideoTrack } from '../../shared/mediaPort'

/**
 * Encoded frames as the app hands them over and gets them back: WebCodecs' chunks, so the renderer's encoder
 * and decoder need no conversion.
 */

/** An encoded video frame as WebCodecs' EncodedVideoChunk gives it: VP8 bytes, timestamp in µs. */
export interface EncodedVideoFrame {
  data: Uint8Array
  timestamp: number
  keyframe: boolean
  /** The VP8 temporal layer the encoder put this frame in (L1T3); absent without temporal layers. */
  temporalLayerId?: 0 | 1 | 2
  /** Absent: the camera. `screen`: the screen share's track (startScreenCapture). */
  track?: VideoTrack
}

/** An encoded audio frame (EncodedAudioChunk): one Opus packet, timestamp in µs. */
export interface EncodedAudioFrame {
  data: Uint8Array
  timestamp: number
}
