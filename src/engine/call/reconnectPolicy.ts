/**
 * When to try again after the call lost its signaling or media path (injectable, as LiveKit's
 * ReconnectPolicy): `nextDelayMs(attempt, elapsedMs)` gives the wait before attempt `attempt` (0-based),
 * or undefined to give up (the engine then moves to Failed with ReconnectTimeout).
 */
export interface ReconnectPolicy {
  nextDelayMs(attempt: number, elapsedMs: number): number | undefined
}

export interface BackoffOptions {
  /** The first retry waits this long (0: at once; a signaling blip is usually over by then). */
  firstDelayMs?: number
  /** Then this, doubling up to `maxDelayMs`. */
  baseDelayMs?: number
  maxDelayMs?: number
  /** Give up once this much time has passed since the loss (NERTC: 60 s). */
  budgetMs?: number
}

export const RECONNECT_DEFAULTS = {
  firstDelayMs: 0,
  baseDelayMs: 250,
  maxDelayMs: 2000,
  budgetMs: 60_000,
} as const

/** 0, 250, 500, 1000, 2000, 2000, … ms, within the budget (an attempt never starts past it). */
export function backoffPolicy(options: BackoffOptions = {}): ReconnectPolicy {
  const { firstDelayMs, baseDelayMs, maxDelayMs, budgetMs } = { ...RECONNECT_DEFAULTS, ...options }
  return {
    nextDelayMs(attempt, elapsedMs) {
      const delay = attempt === 0 ? firstDelayMs : Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
      return elapsedMs + delay > budgetMs ? undefined : delay
    },
  }
}
