import { JITTER_PROCESSOR } from '../logic/jitterBuffer'
import workletUrl from './jitterWorklet.ts?worker&url'

const SAMPLE_RATE = 48_000

interface WorkletReport {
  level: number
  underruns: number
  bufferedSamples: number
}

/** One AudioContext for all remote users; its worklet module is loaded once. */
export class AudioPlayback {
  private context: AudioContext | null = null
  private ready: Promise<AudioContext> | null = null

  /** From a click (join): the context may start under autoplay rules. */
  resume(): void {
    void this.open().then((context) => context.resume())
  }

  open(): Promise<AudioContext> {
    if (!this.ready) {
      const context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' })
      this.context = context
      this.ready = context.audioWorklet.addModule(workletUrl).then(() => context)
    }
    return this.ready
  }

  close(): void {
    void this.context?.close()
    this.context = null
    this.ready = null
  }
}

/** One remote user's audio: Opus → AudioDecoder → mono samples → their jitter-buffer worklet. */
export class AudioReceiver {
  private decoder: AudioDecoder | null = null
  private node: AudioWorkletNode | null = null
  private pending: Float32Array[] = []
  private level = 0
  private closed = false
  private failures = 0

  constructor(
    playback: AudioPlayback,
    private readonly onError: (sentence: string) => void,
  ) {
    void playback.open().then(
      (context) => this.connect(context),
      (error: unknown) => onError(`Audio playback could not start: ${String(error)}`),
    )
  }

  push(data: ArrayBuffer, timestampUs: number): void {
    if (this.closed) return
    const decoder = this.decoder ?? this.open()
    try {
      decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: timestampUs, data }))
    } catch (error) {
      this.fail(`A remote microphone's audio was refused by the decoder: ${String(error)}`)
    }
  }

  /** The loudest level played since the last call (RMS, 0..1), then resets. */
  takeLevel(): number {
    const level = this.level
    this.level = 0
    return level
  }

  close(): void {
    this.closed = true
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close()
    this.node?.disconnect()
    this.node = null
    this.pending = []
  }

  /** Opus packets are independent: after an error a fresh decoder takes the next packet. */
  private open(): AudioDecoder {
    const decoder = new AudioDecoder({
      output: (data) => this.play(data),
      error: (error) => this.fail(`A remote microphone could not be decoded: ${error.message}`),
    })
    decoder.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 })
    this.decoder = decoder
    return decoder
  }

  private fail(sentence: string): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close()
    this.decoder = null
    if (++this.failures === 1) this.onError(sentence)
  }

  private connect(context: AudioContext): void {
    if (this.closed) return
    const node = new AudioWorkletNode(context, JITTER_PROCESSOR, { outputChannelCount: [1] })
    node.port.onmessage = (event: MessageEvent<WorkletReport>) => {
      this.level = Math.max(this.level, event.data.level)
    }
    node.connect(context.destination)
    this.node = node
    for (const samples of this.pending.splice(0)) node.port.postMessage(samples, [samples.buffer])
  }

  private play(data: AudioData): void {
    const frames = data.numberOfFrames
    const mono = new Float32Array(frames)
    const channel = new Float32Array(frames)
    for (let c = 0; c < data.numberOfChannels; c++) {
      data.copyTo(channel, { planeIndex: c, format: 'f32-planar' })
      for (let i = 0; i < frames; i++) mono[i]! += channel[i]! / data.numberOfChannels
    }
    data.close()
    if (this.node) this.node.port.postMessage(mono, [mono.buffer])
    else if (this.pending.length < 50) this.pending.push(mono)
  }
}
