/**
 * Audio levels for the active-speaker indicator (issue 13 item 3): the RMS of each 100 ms window, 0..1 for
 * float PCM. A window this short follows a voice syllable by syllable, so a speaker is shown well within a
 * second; the 1 s level of the receive figures (RemoteMediaFigures.audioLevel) is far too slow for that.
 */

/** Ten levels a second. */
export const LEVEL_WINDOW_MS = 100

/** The RMS of consecutive windows of `windowSamples` samples, however the samples arrive in blocks. */
export class LevelMeter {
  private sum = 0
  private count = 0
  private latest = 0

  constructor(private readonly windowSamples: number) {
    if (!(windowSamples >= 1))
      throw new RangeError(`a level window needs at least one sample, not ${windowSamples}`)
  }

  /** A meter of LEVEL_WINDOW_MS windows at `sampleRate`. */
  static forRate(sampleRate: number): LevelMeter {
    return new LevelMeter(Math.round((sampleRate * LEVEL_WINDOW_MS) / 1000))
  }

  /** Adds a block; returns how many windows it completed (the last one's RMS is `level`). */
  push(samples: Float32Array): number {
    let completed = 0
    for (const s of samples) {
      this.sum += s * s
      if (++this.count === this.windowSamples) {
        this.latest = Math.min(1, Math.sqrt(this.sum / this.count))
        this.sum = 0
        this.count = 0
        completed++
      }
    }
    return completed
  }

  /** The RMS of the last complete window (0 before the first), clamped to 1. */
  get level(): number {
    return this.latest
  }

  /** Silence from now on (the source stopped): the next windows start empty. */
  reset(): void {
    this.sum = 0
    this.count = 0
    this.latest = 0
  }
}
