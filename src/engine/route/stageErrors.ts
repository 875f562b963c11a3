import type { TransportAttemptOutcome } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'

/** How a transport stage's failure is reported (pathSelect.ts): its attempt's outcome and one error. */

export function outcomeOf(error: unknown): { outcome: TransportAttemptOutcome; detail: string } {
  if (error instanceof EngineError) {
    const detail = error.detail ?? error.message
    return {
      outcome: /no answer|no TCP answer|no TLS handshake|budget/.test(detail) ? 'timeout' : 'failed',
      detail,
    }
  }
  return { outcome: 'failed', detail: String(error) }
}

/** One error for a race where every port failed: a refusal says more than silence. */
export function combined(errors: unknown[]): unknown {
  const engineErrors = errors.filter((e): e is EngineError => e instanceof EngineError)
  if (engineErrors.length !== errors.length) return errors.find((e) => !(e instanceof EngineError))
  const refused = engineErrors.find((e) => e.code === ErrorCode.TurnAllocationRefused)
  if (refused) return refused
  const detail = engineErrors.map((e) => e.detail ?? e.message).join('; ')
  return new EngineError(engineErrors[0]?.code ?? ErrorCode.ProxyUdpUnreachable, detail)
}
