/**
 * Packet-loss concealment for one remote user's decoded audio, used inside the AudioWorklet before the
 * jitter buffer (docs/media.md "Audio: FEC, DTX, concealment"). Pure: no audio API.
 *
 * WebCodecs' AudioDecoder decodes only the packets it is given: it cannot run libopus's own concealment for a
 * packet that never came, nor decode the next packet's in-band FEC copy. So the gap is found here, from the
 * frame timestamps (RTP time, one Opus packet per frame), and filled before the next real frame is buffered:
 *
 * - A gap of at most `maxGapMs` after a frame with sound is a loss: the last pitch period is repeated (period
 *   by autocorrelation of the last 10 ms), at full level for `holdMs`, then faded out over `fadeMs`; the next
 *   real frame is cross-faded in from the continuation over `crossFadeMs`, so neither end clicks.
 * - A gap after a quiet frame (RMS below `quietRms`) is silence — the sender's DTX stops sending in silence,
 *   and a loss in a pause needs nothing audible — so it is filled with zeros (counted as silent concealment).
 * - A gap longer than `maxGapMs` is DTX or an outage, never concealed as speech: nothing is inserted, the
 *   jitter buffer runs dry and waits for its target again, as it does when a call starts.
 *
 * Filling keeps the timeline: the buffer holds as much audio as before the loss, so one lost packet does not
 * cost the buffer 20 ms of headroom (which would end in an underrun, i.e. a gap of silence).
 */
import { rms } from './jitterBuffer'

export interface ConcealmentOptions {
  sampleRate: number
  /** Longest gap filled; longer ones are DTX or an outage. */
  maxGapMs: number
  /** A frame quieter than this (RMS, 0..1) before a gap makes the gap silence. */
  quietRms: number
  /** Timestamp differences this small are rounding, not a gap. */
  toleranceMs: number
  holdMs: number
  fadeMs: number
  crossFadeMs: number
}

export const CONCEALMENT_DEFAULTS: Omit<ConcealmentOptions, 'sampleRate'> = {
  maxGapMs: 120,
  quietRms: 0.003,
  toleranceMs: 2.5,
  holdMs: 20,
  fadeMs: 40,
  crossFadeMs: 5,
}

export interface ConcealmentStats {
  /** Samples decoded from packets that arrived. */
  receivedSamples: number
  /** Samples inserted for lost packets (speech-like and silent). */
  concealedSamples: number
  /** The part of `concealedSamples` filled with silence (the gap followed a quiet frame). */
  silentConcealedSamples: number
  /** Gaps filled. */
  concealmentEvents: number
  /** Gaps left as they were: DTX or an outage. */
  longGaps: number
}

/** Autocorrelation window and lag range of the pitch search: 10 ms, 50..500 Hz. */
const WINDOW_MS = 10
const MIN_PITCH_HZ = 50
const MAX_PITCH_HZ = 500
/** Below this normalized correlation the signal has no period (noise): repeat the whole window. */
const VOICED_CORRELATION = 0.3

export class Concealer {
  private readonly options: ConcealmentOptions
  /** The last samples played (real or concealed), newest last. */
  private readonly history: Float32Array
  private historyFill = 0
  private nextUs: number | undefined
  private lastRms = 0
  private readonly counts: ConcealmentStats = {
    receivedSamples: 0,
    concealedSamples: 0,
    silentConcealedSamples: 0,
    concealmentEvents: 0,
    longGaps: 0,
  }

  constructor(options: Partial<ConcealmentOptions> & { sampleRate: number }) {
    this.options = { ...CONCEALMENT_DEFAULTS, ...options }
    const maxLag = Math.ceil(this.options.sampleRate / MIN_PITCH_HZ)
    this.history = new Float32Array(maxLag + this.samples(WINDOW_MS))
  }

  /**
   * One decoded frame and its timestamp; returns the blocks to buffer, in order: a fill for the gap before
   * it (if any), then the frame (its start cross-faded after a concealed gap). An empty list: the frame
   * lies wholly in the past (a duplicate).
   */
  accept(frame: Float32Array, timestampUs: number): Float32Array[] {
    const frameUs = (frame.length * 1_000_000) / this.options.sampleRate
    const expected = this.nextUs
    this.nextUs = Math.max(this.nextUs ?? -Infinity, timestampUs + frameUs)
    if (expected === undefined) return this.keep([frame])
    const gapMs = (timestampUs - expected) / 1000
    if (gapMs < -this.options.toleranceMs) {
      const overlap = this.samples(-gapMs)
      return overlap >= frame.length ? [] : this.keep([frame.subarray(overlap)])
    }
    if (gapMs <= this.options.toleranceMs) return this.keep([frame])
    if (gapMs > this.options.maxGapMs) {
      this.counts.longGaps++
      return this.keep([frame])
    }
    const gap = this.samples(gapMs)
    this.counts.concealmentEvents++
    this.counts.concealedSamples += gap
    if (this.lastRms < this.options.quietRms) {
      this.counts.silentConcealedSamples += gap
      return this.keep([new Float32Array(gap), frame])
    }
    const crossFade = Math.min(this.samples(this.options.crossFadeMs), frame.length)
    const synthetic = this.synthesize(gap + crossFade)
    const joined = Float32Array.from(frame)
    for (let i = 0; i < crossFade; i++) {
      const w = (i + 1) / (crossFade + 1)
      joined[i] = w * frame[i]! + (1 - w) * synthetic[gap + i]!
    }
    return this.keep([synthetic.subarray(0, gap), joined])
  }

  stats(): ConcealmentStats {
    return { ...this.counts }
  }

  private samples(ms: number): number {
    return Math.round((ms * this.options.sampleRate) / 1000)
  }

  /** Notes what is about to be played: the history for the next concealment, the level, the counts. */
  private keep(blocks: Float32Array[]): Float32Array[] {
    for (const block of blocks) this.remember(block)
    const frame = blocks[blocks.length - 1]
    if (frame) {
      this.counts.receivedSamples += frame.length
      this.lastRms = rms(frame)
    }
    return blocks
  }

  private remember(block: Float32Array): void {
    const size = this.history.length
    if (block.length >= size) {
      this.history.set(block.subarray(block.length - size))
    } else {
      this.history.copyWithin(0, block.length)
      this.history.set(block, size - block.length)
    }
    this.historyFill = Math.min(size, this.historyFill + block.length)
  }

  /** `count` samples continuing the history: its last period repeated, held, then faded to zero. */
  private synthesize(count: number): Float32Array {
    const out = new Float32Array(count)
    const lag = this.pitchLag()
    const size = this.history.length
    const hold = this.samples(this.options.holdMs)
    const fade = Math.max(1, this.samples(this.options.fadeMs))
    for (let i = 0; i < count; i++) {
      const gain = i < hold ? 1 : Math.max(0, 1 - (i - hold) / fade)
      if (gain === 0) break
      out[i] = gain * this.history[size - lag + (i % lag)]!
    }
    return out
  }

  /** The lag (samples) whose normalized autocorrelation over the last window is highest. */
  private pitchLag(): number {
    const size = this.history.length
    const window = Math.min(this.samples(WINDOW_MS), this.historyFill)
    const minLag = Math.floor(this.options.sampleRate / MAX_PITCH_HZ)
    const maxLag = Math.min(Math.ceil(this.options.sampleRate / MIN_PITCH_HZ), this.historyFill - window)
    const h = this.history
    let energy = 0
    for (let n = size - window; n < size; n++) energy += h[n]! * h[n]!
    let best = Math.max(window, 1)
    let bestScore = VOICED_CORRELATION
    for (let lag = minLag; lag <= maxLag; lag++) {
      let dot = 0
      let lagged = 0
      for (let n = size - window; n < size; n++) {
        dot += h[n]! * h[n - lag]!
        lagged += h[n - lag]! * h[n - lag]!
      }
      const score = dot / Math.sqrt(energy * lagged + 1e-12)
      if (score > bestScore) {
        bestScore = score
        best = lag
      }
    }
    return best
  }
}
