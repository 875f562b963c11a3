import { describe, expect, it } from 'vitest'
import { ConnectionReason as R, ConnectionState as S } from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import { callBanner, type Transition } from './callBanner'

const t = (state: S, reason: R): Transition => ({ state, reason })
const JOINED = [
  t(S.Connecting, R.JoinChannel),
  t(S.Connecting, R.SettingProxyServer),
  t(S.Connected, R.JoinSucceed),
]
const LOST = t(S.Reconnecting, R.SignalDisconnected)
const BACK = t(S.Connected, R.RejoinSucceed)

describe('call banner', () => {
  it('none while connecting or connected', () => {
    expect(callBanner(S.Connecting, JOINED.slice(0, 2), null)).toBeNull()
    expect(callBanner(S.Connected, JOINED, null)).toBeNull()
    expect(callBanner(S.Connected, [...JOINED, LOST, BACK], null)).toBeNull()
  })

  it('reconnecting: attempt 1 on the first loss, counting each loss and move of this call', () => {
    expect(callBanner(S.Reconnecting, [...JOINED, LOST], null)).toEqual({ kind: 'reconnecting', attempt: 1 })
    const moved = [...JOINED, LOST, t(S.Reconnecting, R.ReDispatch)]
    expect(callBanner(S.Reconnecting, moved, null)).toEqual({ kind: 'reconnecting', attempt: 2 })
    const again = [...JOINED, LOST, BACK, t(S.Reconnecting, R.MediaConnectionDisconnected)]
    expect(callBanner(S.Reconnecting, again, null)).toEqual({ kind: 'reconnecting', attempt: 2 })
  })

  it("a new join starts counting again; the last call's losses do not count", () => {
    const timeline = [...JOINED, LOST, BACK, t(S.Disconnected, R.LeaveChannel), ...JOINED, LOST]
    expect(callBanner(S.Reconnecting, timeline, null)).toEqual({ kind: 'reconnecting', attempt: 1 })
  })

  it('failed after the call was up: the final banner with the code; a failed join has none', () => {
    const gaveUp = [...JOINED, LOST, t(S.Failed, R.Timeout)]
    expect(callBanner(S.Failed, gaveUp, ErrorCode.ReconnectTimeout)).toEqual({
      kind: 'failed',
      code: ErrorCode.ReconnectTimeout,
    })
    expect(callBanner(S.Failed, gaveUp, null)).toEqual({ kind: 'failed', code: null })
    const refused = [t(S.Connecting, R.JoinChannel), t(S.Failed, R.JoinChannelFailed)]
    expect(callBanner(S.Failed, refused, ErrorCode.JoinTimeout)).toBeNull()
  })

  it('gone once the user leaves or joins again', () => {
    const left = [...JOINED, LOST, t(S.Failed, R.Timeout), t(S.Disconnected, R.LeaveChannel)]
    expect(callBanner(S.Disconnected, left, null)).toBeNull()
  })
})
