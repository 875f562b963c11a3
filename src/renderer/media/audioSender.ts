import type { PostMedia } from './videoSender'

export const AUDIO_BITRATE = 32_000

/** Microphone track → WebCodecs Opus → MediaUp. The encoder is configured from the first AudioData. */
export class AudioSender {
  private encoder: AudioEncoder | null = null
  private reader: ReadableStreamDefaultReader<AudioData> | null = null
  private stopped = false

  constructor(
    private readonly track: MediaStreamTrack,
    private readonly post: PostMedia,
    private readonly onError: (sentence: string) => void,
  ) {
    void this.pump()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.track.stop()
    void this.reader?.cancel().catch(() => undefined)
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close()
  }

  private async pump(): Promise<void> {
    const processor = new MediaStreamTrackProcessor<AudioData>({ track: this.track })
    this.reader = processor.readable.getReader()
    for (;;) {
      const { value: data, done } = await this.reader.read()
      if (done || this.stopped) {
        data?.close()
        return
      }
      this.encode(data)
    }
  }

  private encode(data: AudioData): void {
    const encoder = this.encoder ?? this.configure(data)
    if (encoder.state === 'configured') encoder.encode(data)
    data.close()
  }

  private configure(data: AudioData): AudioEncoder {
    const encoder = new AudioEncoder({
      output: (chunk) => {
        const buffer = new ArrayBuffer(chunk.byteLength)
        chunk.copyTo(buffer)
        this.post({ kind: 'audio', data: buffer, timestampUs: Math.max(0, chunk.timestamp) }, [buffer])
      },
      error: (error) => this.onError(`The audio encoder stopped: ${error.message}`),
    })
    encoder.configure({
      codec: 'opus',
      sampleRate: data.sampleRate,
      numberOfChannels: data.numberOfChannels,
      bitrate: AUDIO_BITRATE,
    })
    this.encoder = encoder
    return encoder
  }
}
