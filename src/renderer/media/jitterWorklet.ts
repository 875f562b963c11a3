import { LevelMeter } from '../logic/audioLevel'
import { Concealer, type ConcealmentStats } from '../logic/concealment'
import { JITTER_PROCESSOR, JitterBuffer, rms } from '../logic/jitterBuffer'

/**
 * The AudioWorklet of one remote user: decoded mono samples arrive on the port with their timestamps, the
 * concealer (logic/concealment.ts) fills the gaps lost packets leave, the jitter buffer (logic/jitterBuffer.ts)
 * smooths them, and the levels played and the counts are reported back ten times a second (each 100 ms
 * window's level, logic/audioLevel.ts: the active-speaker indicator's).
 * Loaded with `audioWorklet.addModule(url)` from a file of the renderer build (`?worker&url`), never a blob:
 * the page's CSP allows scripts from 'self' only.
 */

/** One decoded frame, as media/audioPlayback.ts posts it. */
export interface DecodedAudio {
  samples: Float32Array
  timestampUs: number
}

/**
 * What the worklet reports: the loudest 128-sample block's RMS since the last report (`level`), the RMS of
 * the 100 ms window just played (`windowLevel`), and the running counts.
 */
export type WorkletReport = ConcealmentStats & { level: number; windowLevel: number; underruns: number }

declare const sampleRate: number
declare class AudioWorkletProcessor {
  readonly port: MessagePort
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void

/** 60 ms to start with; +40 ms after each underrun up to 200 ms, −20 ms after each 10 s without one. */
const TARGET_MS = 60
const STEP_MS = 40
const MAX_TARGET_MS = 200
const RELAX_AFTER_MS = 10_000
const MAX_MS = 300

const samples = (ms: number): number => Math.round((sampleRate * ms) / 1000)

class JitterProcessor extends AudioWorkletProcessor {
  private readonly buffer = new JitterBuffer({
    targetSamples: samples(TARGET_MS),
    maxSamples: samples(MAX_MS),
    adapt: {
      stepSamples: samples(STEP_MS),
      maxTargetSamples: samples(MAX_TARGET_MS),
      relaxAfterSamples: samples(RELAX_AFTER_MS),
    },
  })
  private readonly concealer = new Concealer({ sampleRate })
  private readonly meter = LevelMeter.forRate(sampleRate)
  private peakLevel = 0

  constructor() {
    super()
    this.port.onmessage = (event: MessageEvent<DecodedAudio>) => {
      for (const block of this.concealer.accept(event.data.samples, event.data.timestampUs))
        this.buffer.push(block)
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const output = outputs[0]
    const first = output?.[0]
    if (!output || !first) return true
    this.concealer.cover(first, this.buffer.pull(first))
    for (let c = 1; c < output.length; c++) output[c]?.set(first)
    this.peakLevel = Math.max(this.peakLevel, rms(first))
    if (this.meter.push(first) > 0) {
      const report: WorkletReport = {
        level: this.peakLevel,
        windowLevel: this.meter.level,
        underruns: this.buffer.stats().underruns,
        ...this.concealer.stats(),
      }
      this.port.postMessage(report)
      this.peakLevel = 0
    }
    return true
  }
}

registerProcessor(JITTER_PROCESSOR, JitterProcessor)
