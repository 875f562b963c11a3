import type { RegionChoice, TransportType } from '../../shared/engine'
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
