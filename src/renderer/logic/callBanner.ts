import { ConnectionReason, ConnectionState } from '../../shared/engine'

/**
 * The banner over the call (issue 13 item 4): while the engine reconnects, which attempt this is; when
 * reconnecting gave up (Failed after the call was up), the final word with the error code the engine
 * reported for it. A join that fails before the call was up says why in the connection's notice instead.
 */
export type CallBanner =
  { kind: 'reconnecting'; attempt: number } | { kind: 'failed'; code: number | null } | null

export interface Transition {
  state: ConnectionState
  reason: ConnectionReason
}

/**
 * `attempt` counts the Reconnecting transitions of this call (since the join started): each loss of the
 * connection, and each move to another region while reconnecting (ReDispatch), is one. The engine does
 * not report its individual retries within one of them.
 */
export function callBanner(
  state: ConnectionState,
  timeline: readonly Transition[],
  failureCode: number | null,
): CallBanner {
  const call = sinceJoin(timeline)
  const attempts = call.filter((t) => t.state === ConnectionState.Reconnecting).length
  if (state === ConnectionState.Reconnecting) return { kind: 'reconnecting', attempt: Math.max(1, attempts) }
  if (state !== ConnectionState.Failed) return null
  const wasUp = call.some((t) => t.state === ConnectionState.Connected)
  return wasUp ? { kind: 'failed', code: failureCode } : null
}

function sinceJoin(timeline: readonly Transition[]): readonly Transition[] {
  const start = timeline.findLastIndex(
    (t) => t.state === ConnectionState.Connecting && t.reason === ConnectionReason.JoinChannel,
  )
  return start < 0 ? timeline : timeline.slice(start)
}
