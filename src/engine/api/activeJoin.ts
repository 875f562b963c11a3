import type { RegionChoice, TransportType } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { CallHandle } from '../call/call'
import type { EarlySignaling } from '../call/earlySignaling'
import type { Clock, JoinMark, JoinStep } from '../defaults'

/** The engine's join in progress or call (engine.ts): what joinChannel was given and how far it got. */
export interface ActiveJoin {
  controller: AbortController
  channel: string
  uid: number
  /** joinChannel's, normalised by DisplayNameSchema. */
  displayName?: string
  mode: TransportType
  /** setRegion as it was at joinChannel. */
  regionChoice: RegionChoice
  started: number
  /** 'request' until the proxy is connected and a transport chosen, then 'call'. */
  stage: 'request' | 'call'
  /** `joinTimeline` for this join (joinMarker). */
  mark: JoinMark
  /** The signaling connection opened on the proxy session (call/earlySignaling.ts); the default call's. */
  early?: EarlySignaling | undefined
  call?: CallHandle
}

/**
 * `createEngine({ joinTimeline })` for one join: each step once, with the ms since joinChannel, while
 * `inProgress` (the join is current and Connecting: nothing on reconnects, nothing after it ended).
 */
export function joinMarker(
  timeline: ((step: JoinStep, elapsedMs: number) => void) | undefined,
  inProgress: () => boolean,
  elapsed: () => number,
): JoinMark {
  if (!timeline) return () => undefined
  const marked = new Set<JoinStep>()
  return (step) => {
    if (marked.has(step) || !inProgress()) return
    marked.add(step)
    timeline(step, elapsed())
  }
}

/**
 * A join as joinChannel starts it: its own AbortController, stage 'request', `started` now, and its
 * `joinTimeline` marker, live while `inProgress(join)`.
 */
export function newActiveJoin(
  what: Pick<ActiveJoin, 'channel' | 'uid' | 'displayName' | 'mode'>,
  engine: {
    regionChoice: RegionChoice
    clock: Clock
    timeline: ((step: JoinStep, elapsedMs: number) => void) | undefined
  },
  inProgress: (join: ActiveJoin) => boolean,
): ActiveJoin {
  const { regionChoice, clock, timeline } = engine
  const active: ActiveJoin = {
    ...what,
    controller: new AbortController(),
    regionChoice,
    started: clock.now(),
    stage: 'request',
    mark: () => undefined,
  }
  active.mark = joinMarker(
    timeline,
    () => inProgress(active),
    () => clock.now() - active.started,
  )
  return active
}

/** Throws JoinCanceled (or the timeout, or whatever aborted it) unless the join is still `current`. */
export function throwUnlessCurrent(active: ActiveJoin, current: boolean): void {
  const { signal } = active.controller
  if (signal.aborted) {
    throw signal.reason instanceof EngineError ? signal.reason : new EngineError(ErrorCode.JoinCanceled)
  }
  if (!current) throw new EngineError(ErrorCode.JoinCanceled)
}

/**
 * How a join that is still current ended: the error it reports (what aborted it, else what it threw; a
 * throw that is not an EngineError becomes Internal and is `unexpected`) and the state machine's event.
 */
export function joinFailure(
  active: ActiveJoin,
  error: unknown,
): {
  engineError: EngineError
  event: 'timeout' | 'requestChannelFailed' | 'joinFailed'
  unexpected?: unknown
} {
  const reason: unknown = active.controller.signal.aborted ? active.controller.signal.reason : error
  const engineError =
    reason instanceof EngineError
      ? reason
      : new EngineError(ErrorCode.Internal, String(reason), { cause: reason })
  const event =
    engineError.code === ErrorCode.JoinTimeout
      ? 'timeout'
      : active.stage === 'request'
        ? 'requestChannelFailed'
        : 'joinFailed'
  return reason instanceof EngineError ? { engineError, event } : { engineError, event, unexpected: reason }
}
