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
 *
 * Packets that are late rather than lost (a stalled host) empty the buffer: `cover` plays the same
 * continuation while the buffer refills, instead of silence, and cross-fades back into the real audio.
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
  fadeMs: 120,
  crossFadeMs: 5,
}

export interface ConcealmentStats {
  /** Samples decoded from packets that arrived. */
  receivedSamples: number
  /** Samples inserted for lost packets (speech-like and silent), and audible ones played over underruns. */
  concealedSamples: number
  /** The part of `concealedSamples` filled with silence (the gap followed a quiet frame). */
  silentConcealedSamples: number
  /** Gaps filled and underruns covered. */
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
  /**
   * An underrun being covered: the history as it was when the buffer ran dry (frames that arrive meanwhile
   * are remembered at once, but played only after), its period, and how many samples were played.
   */
  private extension: { source: Float32Array; lag: number; played: number } | undefined
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

  /**
   * The playback side: `block` is about to be played and its first `real` samples came from the buffer. Where
   * the buffer ran dry mid-speech (the packets are late, not lost: an underrun), the rest of the block gets
   * the same continuation as a lost packet instead of silence, for as long as the jitter buffer waits to
   * refill; the first real samples after it are cross-faded in. Nothing happens before the first frame or
   * after a quiet one (DTX: silence is right).
   */
  cover(block: Float32Array, real: number): void {
    if (this.extension !== undefined && real > 0) {
      const { source, lag, played } = this.extension
      const crossFade = Math.min(this.samples(this.options.crossFadeMs), real)
      for (let i = 0; i < crossFade; i++) {
        const w = (i + 1) / (crossFade + 1)
        block[i] = w * block[i]! + (1 - w) * this.continuation(source, lag, played + i)
      }
      this.extension = undefined
    }
    if (real >= block.length) return
    if (this.extension === undefined) {
      if (this.historyFill === 0 || this.lastRms < this.options.quietRms) return
      this.extension = { source: Float32Array.from(this.history), lag: this.pitchLag(), played: 0 }
      this.counts.concealmentEvents++
    }
    const extension = this.extension
    for (let i = real; i < block.length; i++) {
      const sample = this.continuation(extension.source, extension.lag, extension.played++)
      block[i] = sample
      if (sample !== 0) this.counts.concealedSamples++
    }
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
    const lag = this.pitchLag()
    return Float32Array.from({ length: count }, (_, i) => this.continuation(this.history, lag, i))
  }

  /** Sample `i` of the continuation of `source` (a history) with period `lag`: held, then faded. */
  private continuation(source: Float32Array, lag: number, i: number): number {
    const hold = this.samples(this.options.holdMs)
    const fade = Math.max(1, this.samples(this.options.fadeMs))
    const gain = i < hold ? 1 : Math.max(0, 1 - (i - hold) / fade)
    return gain === 0 ? 0 : gain * source[source.length - lag + (i % lag)]!
  }

  /**
   * The lag (samples) whose normalized autocorrelation over the last window is highest. It runs on the audio
   * thread, so coarse first (every other lag, every other sample: a quarter of the work), then exact around
   * the best coarse lag.
   */
  private pitchLag(): number {
    const window = Math.min(this.samples(WINDOW_MS), this.historyFill)
    const minLag = Math.floor(this.options.sampleRate / MAX_PITCH_HZ)
    const maxLag = Math.min(Math.ceil(this.options.sampleRate / MIN_PITCH_HZ), this.historyFill - window)
    let best = Math.max(window, 1)
    let bestScore = VOICED_CORRELATION
    for (let lag = minLag; lag <= maxLag; lag += 2) {
      const score = this.correlation(lag, window, 2)
      if (score > bestScore) [best, bestScore] = [lag, score]
    }
    if (bestScore === VOICED_CORRELATION) return best
    const coarse = best
    bestScore = -Infinity
    for (let lag = Math.max(minLag, coarse - 2); lag <= Math.min(maxLag, coarse + 2); lag++) {
      const score = this.correlation(lag, window, 1)
      if (score > bestScore) [best, bestScore] = [lag, score]
    }
    return best
  }

  /** Normalized correlation of the last `window` samples with the ones `lag` earlier, every `step`th. */
  private correlation(lag: number, window: number, step: number): number {
    const h = this.history
    const size = h.length
    let dot = 0
    let energy = 0
    let lagged = 0
    for (let n = size - window; n < size; n += step) {
      dot += h[n]! * h[n - lag]!
      energy += h[n]! * h[n]!
      lagged += h[n - lag]! * h[n - lag]!
    }
    return dot / Math.sqrt(energy * lagged + 1e-12)
  }
}
