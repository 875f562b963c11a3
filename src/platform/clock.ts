/**
 * Time and timers, injectable so that timeouts and rate limits are tested by moving a fake clock instead of
 * waiting (the engine's `Clock` has the same shape, so one fake clock serves both).
 */
export interface Clock {
  /** Milliseconds, monotonic; only differences are used. */
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}
