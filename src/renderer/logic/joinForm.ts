import { ErrorCode } from '../../shared/errors'
import type { TransportType } from '../../shared/engine'
import {
  CHANNEL_NAME_MAX,
  CHANNEL_NAME_RULE,
  UID_MAX,
  channelNameLength,
  channelNameProblem,
  refusedCharacters,
} from '../../shared/joinRules'

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

/** The hint under the channel field: the rule the server applies (src/shared/joinRules.ts). */
export const CHANNEL_HINT = `${CHANNEL_NAME_RULE[0]!.toUpperCase()}${CHANNEL_NAME_RULE.slice(1)}.`

/** The channel as it will be sent: trimmed, in NFC (the form an input method may not have produced). */
export function channelOf(text: string): string {
  return text.trim().normalize('NFC')
}

function quoted(characters: string[]): string {
  return characters.map((c) => (/^\s$/u.test(c) ? 'a space' : `"${c}"`)).join(', ')
}

/** Why the typed channel cannot be joined, in the user's words; null when it can. */
export function channelFieldProblem(text: string): string | null {
  const channel = channelOf(text)
  switch (channelNameProblem(channel)) {
    case null:
      return null
    case 'empty':
      return 'Enter a channel name.'
    case 'tooLong':
      return `The channel name has ${channelNameLength(channel)} characters; at most ${CHANNEL_NAME_MAX}.`
    // channelOf made it NFC, so only a refused character is left.
    case 'character':
    case 'notNormalized':
      return `${quoted(refusedCharacters(channel))} cannot be in a channel name: use letters or digits of any script, or _ . ~ -.`
  }
}

/** Why the typed uid cannot be joined under this proxy mode; null when it can. */
export function uidFieldProblem(text: string, cloudProxy: TransportType): string | null {
  const uidText = text.trim()
  if (uidText === '') return 'Enter a uid: a whole number.'
  if (!/^\d+$/.test(uidText)) return `The uid is a whole number from 0 to ${UID_MAX}, digits only.`
  if (uidText.replace(/^0+(?=\d)/, '').length > String(UID_MAX).length || Number(uidText) > UID_MAX) {
    return `The uid can be at most ${UID_MAX}.`
  }
  if (Number(uidText) === 0 && cloudProxy !== 0) {
    return 'uid 0 cannot join while a cloud proxy is on: choose a uid other than 0, or set the proxy mode to None.'
  }
  return null
}

const refuse = (field: 'channel' | 'uid' | 'token', sentence: string): JoinCheck => ({
  ok: false,
  code: ErrorCode.RequestParameter,
  field,
  sentence,
})

/**
 * The engine's 414 rules (docs/engine.md), checked before anything is sent, each in its own sentence: the
 * shared channel and uid rules, and uid 0 with a proxy on (the engine would refuse it too, sending
 * nothing). The same functions check each field as it is typed.
 */
export function checkJoinForm(input: JoinFormInput): JoinCheck {
  const channelProblem = channelFieldProblem(input.channel)
  if (channelProblem !== null) return refuse('channel', channelProblem)
  const uidProblem = uidFieldProblem(input.uid, input.cloudProxy)
  if (uidProblem !== null) return refuse('uid', uidProblem)
  const token = input.token.trim()
  if (token === '' && !input.embedded) {
    return refuse('token', 'Paste the join token you were given for this channel and uid.')
  }
  const uid = Number(input.uid.trim())
  return { ok: true, channel: channelOf(input.channel), uid, token, needsDevToken: token === '' }
}
