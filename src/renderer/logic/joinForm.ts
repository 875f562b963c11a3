import { ErrorCode } from '../../shared/errors'
import type { TransportType } from '../../shared/engine'
import { phrase, type Phrase } from '../i18n/phrase'
import {
  CHANNEL_NAME_MAX,
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
  | { ok: false; code: ErrorCode; field: 'channel' | 'uid' | 'token'; problem: Phrase }

/** The hint under the channel field: the rule the server applies (CHANNEL_NAME_RULE, src/shared/joinRules.ts). */
export const CHANNEL_HINT = phrase('common:joinForm.channelHint', { max: CHANNEL_NAME_MAX })

/** The channel as it will be sent: trimmed, in NFC (the form an input method may not have produced). */
export function channelOf(text: string): string {
  return text.trim().normalize('NFC')
}

/** Each refused character quoted, a space named: `"/", "!"`, `a space`. */
function quoted(characters: string[]): Phrase['values'] {
  const list = characters.map((c) =>
    /^\s$/u.test(c) ? phrase('common:list.space') : phrase('common:list.quoted', { text: c }),
  )
  return { characters: { list, separator: 'common:list.separator' } }
}

const problem = (key: string, values?: Phrase['values']): Phrase =>
  phrase(`common:joinForm.problem.${key}`, values)

/** Why the typed channel cannot be joined, in the user's words; null when it can. */
export function channelFieldProblem(text: string): Phrase | null {
  const channel = channelOf(text)
  switch (channelNameProblem(channel)) {
    case null:
      return null
    case 'empty':
      return problem('enterChannel')
    case 'tooLong':
      return problem('channelTooLong', { length: channelNameLength(channel), max: CHANNEL_NAME_MAX })
    // channelOf made it NFC, so only a refused character is left.
    case 'character':
    case 'notNormalized':
      return problem('channelCharacters', quoted(refusedCharacters(channel)))
  }
}

/** Why the typed uid cannot be joined under this proxy mode; null when it can. */
export function uidFieldProblem(text: string, cloudProxy: TransportType): Phrase | null {
  const uidText = text.trim()
  if (uidText === '') return problem('enterUid')
  // The largest uid as digits: a bound is a figure to read, not a number to group.
  if (!/^\d+$/.test(uidText)) return problem('uidDigits', { max: String(UID_MAX) })
  if (uidText.replace(/^0+(?=\d)/, '').length > String(UID_MAX).length || Number(uidText) > UID_MAX) {
    return problem('uidTooLarge', { max: String(UID_MAX) })
  }
  if (Number(uidText) === 0 && cloudProxy !== 0) return problem('uidZeroProxy')
  return null
}

const refuse = (field: 'channel' | 'uid' | 'token', words: Phrase): JoinCheck => ({
  ok: false,
  code: ErrorCode.RequestParameter,
  field,
  problem: words,
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
    return refuse('token', problem('pasteToken'))
  }
  const uid = Number(input.uid.trim())
  return { ok: true, channel: channelOf(input.channel), uid, token, needsDevToken: token === '' }
}
