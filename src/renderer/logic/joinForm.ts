import { ErrorCode, errorMessage } from '../../shared/errors'
import type { TransportType } from '../../shared/engine'

export interface JoinFormInput {
  channel: string
  uid: string
  token: string
  cloudProxy: TransportType
  embedded: boolean
}

export type JoinCheck =
  | { ok: true; channel: string; uid: number; token: string; needsDevToken: boolean }
  | { ok: false; code: ErrorCode; field: 'channel' | 'uid' | 'token'; sentence: string }

const CHANNEL = /^[A-Za-z0-9_.~-]{1,64}$/

const refuse = (field: 'channel' | 'uid' | 'token', specific: string): JoinCheck => ({
  ok: false,
  code: ErrorCode.RequestParameter,
  field,
  sentence: `${specific} ${errorMessage(ErrorCode.RequestParameter)}`,
})

/**
 * The engine's 414 rules (docs/engine.md), checked before anything is sent: with a proxy on, uid 0 is
 * refused here so the user reads why without a round trip (the engine would refuse it too, sending nothing).
 */
export function checkJoinForm(input: JoinFormInput): JoinCheck {
  const channel = input.channel.trim()
  if (!CHANNEL.test(channel)) {
    return refuse('channel', 'Enter a channel name of 1–64 letters, digits or _ . ~ -.')
  }
  const uidText = input.uid.trim()
  const uid = /^\d{1,16}$/.test(uidText) ? Number(uidText) : Number.NaN
  if (!Number.isSafeInteger(uid)) {
    return refuse('uid', 'Enter the uid as a whole number (0 or more).')
  }
  if (uid === 0 && input.cloudProxy !== 0) {
    return refuse(
      'uid',
      'uid 0 cannot join while a cloud proxy is on: choose a uid other than 0, or set the proxy mode to None.',
    )
  }
  const token = input.token.trim()
  if (token === '' && !input.embedded) {
    return refuse('token', 'Paste the join token you were given for this channel and uid.')
  }
  return { ok: true, channel, uid, token, needsDevToken: token === '' }
}
