/**
 * Chromium APIs the DOM lib of TypeScript does not declare yet (Chromium exposes MediaStreamTrackProcessor
 * on Window; Electron's Chromium too).
 */
interface MediaStreamTrackProcessorInit {
  track: MediaStreamTrack
  maxBufferSize?: number
}

declare class MediaStreamTrackProcessor<T extends VideoFrame | AudioData = VideoFrame | AudioData> {
  constructor(init: MediaStreamTrackProcessorInit)
  readonly readable: ReadableStream<T>
}

/** WebCodecs Opus options Chromium takes (the Opus codec registration) that the DOM lib lacks. */
interface OpusEncoderConfig {
  application?: 'voip' | 'audio' | 'lowdelay'
  signal?: 'auto' | 'music' | 'voice'
}
