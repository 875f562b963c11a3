/**
 * The call's decisions without its I/O (docs/engine.md "The call"): what a join, a loss, a kick, a reconnect
 * outcome or a close does in each phase of the call. `step` is pure: phases × inputs → the next state and the
 * actions, in order; callSession.ts (the shell) owns the sockets and the PeerConnection, feeds it the inputs
 * and carries the actions out. `callMachine.test.ts` checks the whole table.
 */

export type CallPhase = 'joining' | 'connected' | 'reconnecting' | 'closed'

export interface CallState {
  phase: CallPhase
  /**
   * Our PeerConnection cannot carry on: the next attempt is a full rejoin with a new one, never a resume
   * (media lost, resumed without a media path, a failed attempt, another region).
   */
  mediaBroken: boolean
  /** The rejoin under way goes through another region's proxy. */
  reDispatched: boolean
}

export type LostPath = 'signal' | 'media'

export type CallInput =
  /** The first join completed (signaling joined, media connected). */
  | { type: 'joined' }
  /** Signaling closed (not by us), or the PeerConnection's path is gone (MediaWatch). */
  | { type: 'lost'; path: LostPath }
  /** The server ended our participant: `serverKicked` (our uid joined elsewhere) or the channel closed. */
  | { type: 'kicked'; serverKicked: boolean }
  /**
   * The server moves us (`rejoin`: its node drains): the shell has dropped that connection and its
   * PeerConnection; rejoin in full through a fresh session, which places us where the channel now lives.
   */
  | { type: 'rejoinAsked' }
  /** A new PeerConnection replaced the old one. */
  | { type: 'mediaReplaced' }
  /** The server kept our participant, but our PeerConnection is gone: only a full rejoin brings media back. */
  | { type: 'resumedWithoutMedia' }
  /**
   * A reconnect attempt failed: the path was down past a blip and the relay allocation may be gone (a
   * restarted proxy forgot it) while werift never reports the PeerConnection lost.
   */
  | { type: 'attemptFailed' }
  /** The route for the next attempt is another region's proxy. */
  | { type: 'moved' }
  /** A reconnect attempt succeeded. */
  | { type: 'rejoined' }
  /** Reconnecting cannot succeed: a fatal refusal, being kicked, or the policy gave up. */
  | { type: 'ended'; kicked: boolean }
  /** leaveChannel or release. */
  | { type: 'close' }

export type CallAction =
  /** Abort the join or reconnect attempt in progress with this cause. */
  | { type: 'abortAttempt'; cause: 'signalLost' | 'mediaLost' | 'kicked' }
  /** Tell the engine (CallContext.report). */
  | {
      type: 'report'
      event: 'signalLost' | 'mediaLost' | 'reDispatch' | 'kicked' | 'channelClosed' | 'failed'
    }
  | { type: 'report'; event: 'rejoined'; reDispatched: boolean }
  /** Start the reconnect loop. */
  | { type: 'reconnect' }
  /** Stop everything without telling the server: statistics, the reconnect loop, signaling, media. */
  | { type: 'shutdown' }

export interface CallStep {
  state: CallState
  actions: CallAction[]
}

export const INITIAL_CALL_STATE: CallState = { phase: 'joining', mediaBroken: false, reDispatched: false }

export function step(state: CallState, input: CallInput): CallStep {
  const { phase } = state
  switch (input.type) {
    case 'joined':
      return phase === 'joining' ? to({ ...state, phase: 'connected' }) : to(state)
    case 'lost':
      return lost(state, input.path)
    case 'kicked':
      if (phase === 'joining') return to(state, { type: 'abortAttempt', cause: 'kicked' })
      if (phase === 'closed') return to(state)
      return to(
        { ...state, phase: 'closed' },
        { type: 'shutdown' },
        { type: 'report', event: input.serverKicked ? 'kicked' : 'channelClosed' },
      )
    case 'rejoinAsked':
      return rejoinAsked(state)
    case 'mediaReplaced':
      return to({ ...state, mediaBroken: false })
    case 'resumedWithoutMedia':
    case 'attemptFailed':
      return to({ ...state, mediaBroken: true })
    case 'moved':
      return phase === 'reconnecting' ? to({ ...state, mediaBroken: true, reDispatched: true }) : to(state)
    case 'rejoined':
      if (phase !== 'reconnecting') return to(state)
      return to(
        { ...state, phase: 'connected', reDispatched: false },
        { type: 'report', event: 'rejoined', reDispatched: state.reDispatched },
      )
    case 'ended':
      return to(
        { ...state, phase: 'closed' },
        { type: 'shutdown' },
        { type: 'report', event: input.kicked ? 'kicked' : 'failed' },
      )
    case 'close':
      return to({ ...state, phase: 'closed' }, { type: 'shutdown' })
  }
}

/** A loss while connecting aborts that attempt; in a call it starts reconnecting; after close it is moot. */
function lost(state: CallState, path: LostPath): CallStep {
  const next = path === 'media' ? { ...state, mediaBroken: true } : state
  const cause = path === 'signal' ? 'signalLost' : 'mediaLost'
  switch (state.phase) {
    case 'joining':
    case 'reconnecting':
      return to(next, { type: 'abortAttempt', cause })
    case 'connected':
      return to({ ...next, phase: 'reconnecting' }, { type: 'report', event: cause }, { type: 'reconnect' })
    case 'closed':
      return to(next)
  }
}

/**
 * Like a signaling loss, but the media goes with it (the next node has no PeerConnection of ours) and the
 * engine hears why: Reconnecting with reDispatch, the server moving us, then Connected with rejoinSucceed.
 */
function rejoinAsked(state: CallState): CallStep {
  const next = { ...state, mediaBroken: true }
  switch (state.phase) {
    case 'joining':
    case 'reconnecting':
      return to(next, { type: 'abortAttempt', cause: 'signalLost' })
    case 'connected':
      return to(
        { ...next, phase: 'reconnecting' },
        { type: 'report', event: 'reDispatch' },
        { type: 'reconnect' },
      )
    case 'closed':
      return to(state)
  }
}

function to(state: CallState, ...actions: CallAction[]): CallStep {
  return { state, actions }
}
