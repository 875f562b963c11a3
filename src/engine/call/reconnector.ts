import { EngineError, ErrorCode } from '../../shared/errors'
import { sleep, type Clock, type EngineLogger } from '../defaults'
import type { ReconnectPolicy } from './reconnectPolicy'

/**
 * The reconnect loop of a call (docs/engine.md "Losses and rejoin"): attempts on the ReconnectPolicy, each
 * bounded by `attemptTimeoutMs` and preceded by the route for it (fresh session, maybe another region).
 * A manager: the call's state comes in through the callbacks, outcomes go out through them; it holds no
 * connection of its own (tested alone, `reconnector.test.ts`).
 */

export interface ReconnectorDeps {
  clock: Clock
  logger: EngineLogger
  policy: ReconnectPolicy
  attemptTimeoutMs: number
  /** Aborted when the call closes: no attempt starts after, a running one is aborted. */
  closed: AbortSignal
  /** False once the call is no longer reconnecting (closed, or connected by other means). */
  isReconnecting(): boolean
  /**
   * The route for the next attempt (CallContext.reroute); `failures`: attempts failed in a row since the
   * route last changed. Resolves true when the call moved region (the counting starts again).
   */
  reroute(failures: number, signal: AbortSignal): Promise<boolean>
  /** One attempt (resume or full rejoin, as the call decides). Rejects when it failed. */
  attempt(signal: AbortSignal): Promise<void>
  /** The attempt succeeded: the call is connected again. */
  succeeded(attempt: number): void
  /** The attempt failed: false ends the loop (the call has ended itself, e.g. a fatal refusal). */
  failed(error: unknown, attempt: number): boolean
  /** The policy gave up after this many attempts; `lastError` is why the last one failed. */
  gaveUp(attempts: number, lastError?: unknown): void
}

export class Reconnector {
  constructor(private readonly deps: ReconnectorDeps) {}

  async run(): Promise<void> {
    const { clock, policy, closed } = this.deps
    const started = clock.now()
    let failures = 0
    let lastError: unknown
    for (let attempt = 0; ; attempt++) {
      const delay = policy.nextDelayMs(attempt, clock.now() - started)
      if (delay === undefined) return this.deps.gaveUp(attempt, lastError)
      const waited = await sleep(delay, clock, closed).then(
        () => true,
        () => false,
      )
      if (!waited || !this.deps.isReconnecting()) return
      const limit = this.attemptLimit()
      const outcome = await this.once(failures, limit.signal)
      limit.clear()
      if (!this.deps.isReconnecting()) return
      if (outcome.moved) failures = 0
      if (!outcome.failed) return this.deps.succeeded(attempt)
      failures++
      lastError = outcome.error
      this.deps.logger.info({ attempt, err: outcome.error }, 'rejoin attempt failed')
      if (!this.deps.failed(outcome.error, attempt)) return
    }
  }

  /** The route for the attempt, then the attempt (unless the call stopped reconnecting meanwhile). */
  private async once(
    failures: number,
    signal: AbortSignal,
  ): Promise<{ moved: boolean; failed: boolean; error?: unknown }> {
    let moved: boolean
    try {
      moved = await this.deps.reroute(failures, signal)
    } catch (error) {
      return { moved: false, failed: true, error }
    }
    if (!this.deps.isReconnecting()) return { moved, failed: false }
    try {
      await this.deps.attempt(signal)
      return { moved, failed: false }
    } catch (error) {
      return { moved, failed: true, error }
    }
  }

  /** The call's own abort (close) plus a deadline for one attempt. */
  private attemptLimit(): { signal: AbortSignal; clear: () => void } {
    const { clock, attemptTimeoutMs: ms, closed } = this.deps
    const controller = new AbortController()
    const timer = clock.setTimeout(
      () => controller.abort(new EngineError(ErrorCode.JoinTimeout, `rejoin attempt over ${ms} ms`)),
      ms,
    )
    return {
      signal: AbortSignal.any([closed, controller.signal]),
      clear: () => clock.clearTimeout(timer),
    }
  }
}

/**
 * ReconnectTimeout, with why the last attempt failed in its detail: a stopped proxy (30104) or a name that
 * stopped resolving (30105) reads differently from silence (issue 10 item 9).
 */
export function reconnectTimeout(attempts: number, lastError: unknown): EngineError {
  const last =
    lastError instanceof EngineError
      ? `; the last failed with ${lastError.code} (${lastError.detail ?? lastError.message})`
      : ''
  return new EngineError(ErrorCode.ReconnectTimeout, `${attempts} attempts${last}`)
}
