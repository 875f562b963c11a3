import {
  CONNECTION_REASON_NAMES,
  CONNECTION_STATE_NAMES,
  ConnectionReason,
  ConnectionState,
} from '../../shared/engine'

/**
 * The connection state machine (docs/engine.md "Connection states": NERTC's states and reasons). One
 * transition function over a table; every state change of the engine goes through it. An event the table does
 * not allow in a state is a bug in the caller: `mustTransition` throws it.
 */

export type ConnectionEvent =
  /** joinChannel accepted. */
  | 'join'
  /** The proxy answered and a transport was chosen (NERTC fires a change with reason settingProxyServer). */
  | 'proxyConnected'
  | 'joinSucceeded'
  /** The server refused the join (token, channel full, …). */
  | 'joinFailed'
  /** Asking for the channel failed before reaching the server (proxy session, transport). */
  | 'requestChannelFailed'
  /** The join or reconnect budget ran out. */
  | 'timeout'
  | 'signalLost'
  | 'mediaLost'
  /** The server or region moved us: reconnect elsewhere. */
  | 'reDispatch'
  | 'rejoinSucceeded'
  /** A rejoin succeeded after moving to another region's proxy (region failover). */
  | 'reDispatchSucceeded'
  | 'kicked'
  | 'channelClosed'
  | 'leave'

const { Disconnected, Connecting, Connected, Reconnecting, Failed } = ConnectionState
const R = ConnectionReason

export interface Transition {
  state: ConnectionState
  reason: ConnectionReason
}

export interface IllegalTransition {
  illegal: true
  from: ConnectionState
  event: ConnectionEvent
}

type Row = Partial<Record<ConnectionState, Transition>>

const to = (state: ConnectionState, reason: ConnectionReason): Transition => ({ state, reason })

/** event → (from state → transition). Absent = illegal. */
export const TRANSITIONS: Readonly<Record<ConnectionEvent, Row>> = {
  join: {
    [Disconnected]: to(Connecting, R.JoinChannel),
    // After a failure the app may join again without leaving first.
    [Failed]: to(Connecting, R.JoinChannel),
  },
  proxyConnected: {
    [Connecting]: to(Connecting, R.SettingProxyServer),
    [Reconnecting]: to(Reconnecting, R.SettingProxyServer),
  },
  joinSucceeded: { [Connecting]: to(Connected, R.JoinSucceed) },
  joinFailed: { [Connecting]: to(Failed, R.JoinChannelFailed) },
  requestChannelFailed: { [Connecting]: to(Failed, R.RequestChannelFailed) },
  timeout: {
    [Connecting]: to(Failed, R.Timeout),
    [Reconnecting]: to(Failed, R.Timeout),
  },
  signalLost: { [Connected]: to(Reconnecting, R.SignalDisconnected) },
  mediaLost: { [Connected]: to(Reconnecting, R.MediaConnectionDisconnected) },
  reDispatch: {
    [Connected]: to(Reconnecting, R.ReDispatch),
    [Reconnecting]: to(Reconnecting, R.ReDispatch),
  },
  rejoinSucceeded: { [Reconnecting]: to(Connected, R.RejoinSucceed) },
  reDispatchSucceeded: { [Reconnecting]: to(Connected, R.ReDispatch) },
  kicked: {
    [Connected]: to(Disconnected, R.ServerKicked),
    [Reconnecting]: to(Disconnected, R.ServerKicked),
  },
  channelClosed: {
    [Connected]: to(Disconnected, R.ChannelClosed),
    [Reconnecting]: to(Disconnected, R.ChannelClosed),
  },
  leave: {
    [Connecting]: to(Disconnected, R.LeaveChannel),
    [Connected]: to(Disconnected, R.LeaveChannel),
    [Reconnecting]: to(Disconnected, R.LeaveChannel),
    [Failed]: to(Disconnected, R.LeaveChannel),
  },
}

export function transition(state: ConnectionState, event: ConnectionEvent): Transition | IllegalTransition {
  return TRANSITIONS[event][state] ?? { illegal: true, from: state, event }
}

export function isIllegal(result: Transition | IllegalTransition): result is IllegalTransition {
  return 'illegal' in result
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: ConnectionState,
    readonly event: ConnectionEvent,
  ) {
    super(`illegal connection transition: ${CONNECTION_STATE_NAMES[from]} on '${event}'`)
    this.name = 'IllegalTransitionError'
  }
}

/** The transition, or a thrown IllegalTransitionError: the engine never makes an illegal one. */
export function mustTransition(state: ConnectionState, event: ConnectionEvent): Transition {
  const result = transition(state, event)
  if (isIllegal(result)) throw new IllegalTransitionError(result.from, result.event)
  return result
}

export function describeTransition(from: ConnectionState, t: Transition): string {
  return `${CONNECTION_STATE_NAMES[from]} → ${CONNECTION_STATE_NAMES[t.state]} (${CONNECTION_REASON_NAMES[t.reason]})`
}
