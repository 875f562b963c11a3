import { mediaProblem, type MediaProblem } from '../logic/mediaProblems'
import type { ConcealmentStats } from '../logic/concealment'
import { JITTER_PROCESSOR } from '../logic/jitterBuffer'
import type { DecodedAudio, WorkletReport } from './jitterWorklet'
import workletUrl from './jitterWorklet.ts?worker&url'
import { LoopbackOutput } from './loopbackOutput'

const SAMPLE_RATE = 48_000
/** Chunks in the decoder beyond this mean outputs went missing: the oldest timestamps are dropped. */
const MAX_UNANSWERED = 50

/** What one remote user's playback counted so far (the worklet reports it 4 times a second). */
export type AudioReceiveStats = ConcealmentStats & { underruns: number }

/** The context and the node each remote user's worklet plays into. */
interface PlaybackTarget {
  context: AudioContext
  input: AudioNode
}

/** Chromium's AudioContext.setSinkId (not in TypeScript's DOM types yet): the Web Audio fallback's speaker. */
type SinkableContext = AudioContext & { setSinkId?: (sinkId: string) => Promise<void> }

/**
 * One AudioContext for all remote users; its worklet module is loaded once. What the worklets play goes to
 * the speaker through a local WebRTC loopback and an `<audio>` element (media/loopbackOutput.ts), so that
 * the echo canceller hears it; should the loopback not connect, straight to the context's own output.
 */
export class AudioPlayback {
  private context: AudioContext | null = null
  private ready: Promise<PlaybackTarget> | null = null
  /** The loopback once connected; 'webaudio' when it could not be, and the context plays directly. */
  private output: LoopbackOutput | 'webaudio' | null = null
  /** The speaker chosen (setOutputDevice), '' for the system default: applied when the output opens. */
  private sinkId = ''

  /** From a click (join): the context and the `<audio>` element may start under autoplay rules. */
  resume(): void {
    void this.open().then(({ context }) => {
      void context.resume()
      if (this.output instanceof LoopbackOutput) this.output.resume()
    })
  }

  open(): Promise<PlaybackTarget> {
    if (!this.ready) {
      const context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' })
      this.context = context
      this.ready = Promise.all([context.audioWorklet.addModule(workletUrl), this.route(context)]).then(
        ([, input]) => ({ context, input }),
      )
    }
    return this.ready
  }

  /**
   * Plays remote audio on the speaker `deviceId` (enumerateDevices' `audiooutput`, '' for the default):
   * `HTMLMediaElement.setSinkId` on the loopback's element, which keeps the echo canceller's reference.
   */
  async setOutputDevice(deviceId: string): Promise<void> {
    this.sinkId = deviceId
    const output = this.output
    if (output instanceof LoopbackOutput) await output.setSinkId(deviceId)
    else if (output === 'webaudio') await (this.context as SinkableContext | null)?.setSinkId?.(deviceId)
  }

  close(): void {
    if (this.output instanceof LoopbackOutput) this.output.close()
    this.output = null
    void this.context?.close()
    this.context = null
    this.ready = null
  }

  private async route(context: AudioContext): Promise<AudioNode> {
    const loopback = context.createMediaStreamDestination()
    loopback.channelCount = 1
    try {
      const output = await LoopbackOutput.open(loopback.stream.getAudioTracks()[0]!)
      if (this.context !== context) {
        output.close()
        return loopback
      }
      this.output = output
      if (this.sinkId) await output.setSinkId(this.sinkId).catch((e: unknown) => console.warn('setSinkId', e))
      return loopback
    } catch (error) {
      console.warn('Remote audio plays through Web Audio: the echo canceller may not hear it', error)
      if (this.context === context) this.output = 'webaudio'
      if (this.sinkId)
        await this.setOutputDevice(this.sinkId).catch((e: unknown) => console.warn('setSinkId', e))
      return context.destination
    }
  }
}

/**
 * One remote user's audio: Opus → AudioDecoder → mono samples with their timestamps → their worklet, which
 * conceals lost packets (logic/concealment.ts) and smooths jitter (logic/jitterBuffer.ts).
 */
export class AudioReceiver {
  private decoder: AudioDecoder | null = null
  private node: AudioWorkletNode | null = null
  private pending: DecodedAudio[] = []
  private level = 0
  /** The level of the last 100 ms played (logic/audioLevel.ts). */
  private windowLevel = 0
  private counts: AudioReceiveStats = {
    receivedSamples: 0,
    concealedSamples: 0,
    silentConcealedSamples: 0,
    concealmentEvents: 0,
    longGaps: 0,
    underruns: 0,
  }
  private closed = false
  private failures = 0
  /**
   * The timestamps of the chunks the decoder has not yet answered, oldest first. Chromium's AudioDecoder
   * stamps its outputs as one contiguous run from the first chunk on, so a lost packet leaves no gap in
   * them; each Opus chunk gives one output, in order, so the gap is read from the chunks' own timestamps.
   */
  private readonly timestamps: number[] = []

  constructor(
    playback: AudioPlayback,
    private readonly onError: (problem: MediaProblem) => void,
  ) {
    void playback.open().then(
      (target) => this.connect(target),
      (error: unknown) => onError(mediaProblem('playbackFailed', { error })),
    )
  }

  push(data: ArrayBuffer, timestampUs: number): void {
    if (this.closed) return
    const decoder = this.decoder ?? this.open()
    try {
      decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: timestampUs, data }))
      if (this.timestamps.push(timestampUs) > MAX_UNANSWERED) this.timestamps.shift()
    } catch (error) {
      this.fail(mediaProblem('audioRefused', { error }))
    }
  }

  /** The loudest level played since the last call (RMS, 0..1), then resets. */
  takeLevel(): number {
    const level = this.level
    this.level = 0
    return level
  }

  /** The RMS of the last 100 ms played, 0..1 (the active-speaker indicator's level; 0 before any). */
  currentLevel(): number {
    return this.windowLevel
  }

  /** Samples received, concealed and underruns so far (as of the worklet's last report). */
  stats(): AudioReceiveStats {
    return { ...this.counts }
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
      error: (error) => this.fail(mediaProblem('audioUndecodable', { error })),
    })
    decoder.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 })
    this.decoder = decoder
    this.timestamps.length = 0
    return decoder
  }

  private fail(problem: MediaProblem): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close()
    this.decoder = null
    if (++this.failures === 1) this.onError(problem)
  }

  private connect({ context, input }: PlaybackTarget): void {
    if (this.closed) return
    const node = new AudioWorkletNode(context, JITTER_PROCESSOR, { outputChannelCount: [1] })
    node.port.onmessage = (event: MessageEvent<WorkletReport>) => {
      const { level, windowLevel, ...counts } = event.data
      this.level = Math.max(this.level, level)
      this.windowLevel = windowLevel
      this.counts = counts
    }
    node.connect(input)
    this.node = node
    for (const audio of this.pending.splice(0)) node.port.postMessage(audio, [audio.samples.buffer])
  }

  private play(data: AudioData): void {
    const frames = data.numberOfFrames
    const mono = new Float32Array(frames)
    const channel = new Float32Array(frames)
    for (let c = 0; c < data.numberOfChannels; c++) {
      data.copyTo(channel, { planeIndex: c, format: 'f32-planar' })
      for (let i = 0; i < frames; i++) mono[i]! += channel[i]! / data.numberOfChannels
    }
    const audio: DecodedAudio = { samples: mono, timestampUs: this.timestamps.shift() ?? data.timestamp }
    data.close()
    if (this.node) this.node.port.postMessage(audio, [mono.buffer])
    else if (this.pending.length < 50) this.pending.push(audio)
  }
}
