/**
 * The playback side's small jitter buffer (mono float samples), used inside the AudioWorklet. Pure: no
 * audio API, so the unit tests drive it directly.
 *
 * Playback starts once `targetSamples` are buffered (and again after each underrun), so decode jitter up to
 * that much is absorbed. If the buffer grows past `maxSamples` (a burst after a stall, or a sender clock
 * running fast), the oldest samples are dropped down to the target: latency stays bounded.
 *
 * With `adapt`, the target follows the jitter: each underrun raises it by `stepSamples` (up to
 * `maxTargetSamples`), and each `relaxAfterSamples` played without one lowers it by half a step (down to
 * `targetSamples`) — a link or a host that stalls now and then gets more buffer, a steady one keeps its
 * latency low.
 */
/** The worklet's registered name (media/jitterWorklet.ts registers it, media/audioPlayback.ts uses it). */
export const JITTER_PROCESSOR = 'pinhole-jitter'

export interface JitterBufferOptions {
  targetSamples: number
  maxSamples: number
  adapt?: { stepSamples: number; maxTargetSamples: number; relaxAfterSamples: number }
}

export interface JitterStats {
  bufferedSamples: number
  /** What playback waits for after an underrun, and trims to after a burst. */
  targetSamples: number
  underruns: number
  droppedSamples: number
  playing: boolean
}

export class JitterBuffer {
  private readonly ring: Float32Array
  private readIndex = 0
  private size = 0
  private playing = false
  private underruns = 0
  private droppedSamples = 0
  private target: number
  /** Samples played since the last underrun or the last relaxing step. */
  private steady = 0

  constructor(private readonly options: JitterBufferOptions) {
    const top = options.adapt?.maxTargetSamples ?? options.targetSamples
    if (options.targetSamples <= 0 || top < options.targetSamples || options.maxSamples < top) {
      throw new RangeError('jitter buffer needs 0 < targetSamples <= maxTargetSamples <= maxSamples')
    }
    this.ring = new Float32Array(options.maxSamples)
    this.target = options.targetSamples
  }

  push(samples: Float32Array): void {
    const capacity = this.ring.length
    let input = samples
    if (input.length > capacity) {
      this.droppedSamples += input.length - capacity
      input = input.subarray(input.length - capacity)
    }
    if (this.size + input.length > capacity) {
      // Drop the oldest down to the target (or as much as the new block needs).
      const drop = Math.max(this.size + input.length - this.target, 0)
      this.skip(Math.min(drop, this.size))
    }
    const writeIndex = (this.readIndex + this.size) % capacity
    const first = Math.min(input.length, capacity - writeIndex)
    this.ring.set(input.subarray(0, first), writeIndex)
    this.ring.set(input.subarray(first), 0)
    this.size += input.length
  }

  /** Fills `out` (silence where nothing is buffered); returns how many samples came from the buffer. */
  pull(out: Float32Array): number {
    if (!this.playing) {
      if (this.size < this.target) {
        out.fill(0)
        return 0
      }
      this.playing = true
    }
    const n = Math.min(out.length, this.size)
    const capacity = this.ring.length
    const first = Math.min(n, capacity - this.readIndex)
    out.set(this.ring.subarray(this.readIndex, this.readIndex + first), 0)
    out.set(this.ring.subarray(0, n - first), first)
    out.fill(0, n)
    this.readIndex = (this.readIndex + n) % capacity
    this.size -= n
    if (n < out.length) {
      this.playing = false
      this.underruns++
      this.adaptTo(true, n)
    } else this.adaptTo(false, n)
    return n
  }

  stats(): JitterStats {
    return {
      bufferedSamples: this.size,
      targetSamples: this.target,
      underruns: this.underruns,
      droppedSamples: this.droppedSamples,
      playing: this.playing,
    }
  }

  private adaptTo(underrun: boolean, played: number): void {
    const adapt = this.options.adapt
    if (!adapt) return
    if (underrun) {
      this.target = Math.min(adapt.maxTargetSamples, this.target + adapt.stepSamples)
      this.steady = 0
      return
    }
    this.steady += played
    if (this.steady < adapt.relaxAfterSamples) return
    this.steady = 0
    this.target = Math.max(this.options.targetSamples, this.target - Math.round(adapt.stepSamples / 2))
  }

  private skip(count: number): void {
    this.readIndex = (this.readIndex + count) % this.ring.length
    this.size -= count
    this.droppedSamples += count
  }
}

/** Root mean square of a block, 0..1 for float PCM. */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0
  let sum = 0
  for (const s of samples) sum += s * s
  return Math.sqrt(sum / samples.length)
}
