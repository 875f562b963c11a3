import { describe, expect, it } from 'vitest'
import { ConnectionReason as R, ConnectionState as S } from '../../shared/engine'
import {
  IllegalTransitionError,
  TRANSITIONS,
  isIllegal,
  mustTransition,
  transition,
  type ConnectionEvent,
} from './stateMachine'

/** The specification, written out independently of the implementation's table. */
const ALLOWED: [from: S, event: ConnectionEvent, to: S, reason: R][] = [
  [S.Disconnected, 'join', S.Connecting, R.JoinChannel],
  [S.Failed, 'join', S.Connecting, R.JoinChannel],
  [S.Connecting, 'proxyConnected', S.Connecting, R.SettingProxyServer],
  [S.Reconnecting, 'proxyConnected', S.Reconnecting, R.SettingProxyServer],
  [S.Connecting, 'joinSucceeded', S.Connected, R.JoinSucceed],
  [S.Connecting, 'joinFailed', S.Failed, R.JoinChannelFailed],
  [S.Connecting, 'requestChannelFailed', S.Failed, R.RequestChannelFailed],
  [S.Connecting, 'timeout', S.Failed, R.Timeout],
  [S.Reconnecting, 'timeout', S.Failed, R.Timeout],
  [S.Connected, 'signalLost', S.Reconnecting, R.SignalDisconnected],
  [S.Connected, 'mediaLost', S.Reconnecting, R.MediaConnectionDisconnected],
  [S.Connected, 'reDispatch', S.Reconnecting, R.ReDispatch],
  [S.Reconnecting, 'reDispatch', S.Reconnecting, R.ReDispatch],
  [S.Reconnecting, 'rejoinSucceeded', S.Connected, R.RejoinSucceed],
  [S.Reconnecting, 'reDispatchSucceeded', S.Connected, R.ReDispatch],
  [S.Connected, 'kicked', S.Disconnected, R.ServerKicked],
  [S.Reconnecting, 'kicked', S.Disconnected, R.ServerKicked],
  [S.Connected, 'channelClosed', S.Disconnected, R.ChannelClosed],
  [S.Reconnecting, 'channelClosed', S.Disconnected, R.ChannelClosed],
  [S.Connecting, 'leave', S.Disconnected, R.LeaveChannel],
  [S.Connected, 'leave', S.Disconnected, R.LeaveChannel],
  [S.Reconnecting, 'leave', S.Disconnected, R.LeaveChannel],
  [S.Failed, 'leave', S.Disconnected, R.LeaveChannel],
]

const STATES = Object.values(S)
const EVENTS = Object.keys(TRANSITIONS) as ConnectionEvent[]
const allowedKey = new Set(ALLOWED.map(([from, event]) => `${from}:${event}`))
const ILLEGAL = STATES.flatMap((from) =>
  EVENTS.filter((event) => !allowedKey.has(`${from}:${event}`)).map((event) => [from, event] as const),
)

describe('connection state machine', () => {
  it.each(ALLOWED)('%i on %s → %i (reason %i)', (from, event, to, reason) => {
    expect(transition(from, event)).toEqual({ state: to, reason })
    expect(mustTransition(from, event)).toEqual({ state: to, reason })
  })

  it.each(ILLEGAL)('%i on %s is illegal, and mustTransition throws', (from, event) => {
    const result = transition(from, event)
    expect(isIllegal(result)).toBe(true)
    expect(result).toEqual({ illegal: true, from, event })
    expect(() => mustTransition(from, event)).toThrow(IllegalTransitionError)
  })

  it('covers every state × event pair exactly once', () => {
    expect(ALLOWED.length + ILLEGAL.length).toBe(STATES.length * EVENTS.length)
    expect(EVENTS).toHaveLength(14)
  })

  it('uses every NERTC reason except none', () => {
    const reasons = new Set(ALLOWED.map(([, , , reason]) => reason))
    expect([...reasons].sort((a, b) => a - b)).toEqual(Object.values(R).sort((a, b) => a - b))
  })
})
