import type { Clock } from '../defaults'

/**
 * Work the engine waits for at leave and release (probe allocations being released, calls closing),
 * bounded by `capMs` so that a call hook that never closes cannot hang them (docs/engine.md "Ownership").
 */
export class Cleanups {
  private readonly pending = new Set<Promise<unknown>>()

  constructor(
    private readonly clock: Clock,
    private readonly capMs: number,
  ) {}

  track(promise: Promise<unknown>): void {
    this.pending.add(promise)
    const done = (): void => void this.pending.delete(promise)
    promise.then(done, done)
  }

  /** Resolves when everything tracked has settled, or after `capMs`, whichever comes first. */
  async settle(): Promise<void> {
    let timer: unknown
    const cap = new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, this.capMs)))
    await Promise.race([Promise.allSettled([...this.pending]), cap])
    this.clock.clearTimeout(timer)
  }
}
