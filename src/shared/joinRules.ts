import { z } from 'zod'

/**
 * What a channel name and a uid are, in one place for every side that checks them: the conference server
 * (signaling schema, dev tokens), the engine (414 before anything is sent), the app's IPC boundary and the
 * join form (checked as the user types).
 *
 * A channel name is 1–64 characters (code points) of letters, combining marks and digits of any script —
 * "会议室", "réunion", "board-2" — and `_ . ~ -`. No spaces, punctuation, symbols or invisible characters
 * (zero-width joiners, direction marks), so that two names that look the same are the same name. It must
 * be in Unicode NFC form, which is what keyboards and input methods produce; the app normalizes what is
 * typed, and the server refuses another form rather than letting "é" and "e + ◌́" be two channels.
 */
export const CHANNEL_NAME_MAX = 64

/** The rule as the form's hint and the 414 sentence say it. */
export const CHANNEL_NAME_RULE = `1–${CHANNEL_NAME_MAX} letters or digits in any language, or _ . ~ -; no spaces`

const CHANNEL_CHARACTER = /^[\p{L}\p{M}\p{N}_.~-]$/u

/** The uid's range: JavaScript's safe integers (a uid travels as a JSON number). */
export const UID_MAX = Number.MAX_SAFE_INTEGER

export type ChannelNameProblem = 'empty' | 'tooLong' | 'character' | 'notNormalized'

/** Why `name` is not a channel name, or null when it is one. */
export function channelNameProblem(name: string): ChannelNameProblem | null {
  if (name.length === 0) return 'empty'
  const characters = [...name]
  if (characters.length > CHANNEL_NAME_MAX) return 'tooLong'
  if (!characters.every((c) => CHANNEL_CHARACTER.test(c))) return 'character'
  if (name.normalize('NFC') !== name) return 'notNormalized'
  return null
}

export function isChannelName(name: unknown): name is string {
  return typeof name === 'string' && channelNameProblem(name) === null
}

/** The characters of `name` that no channel name may hold, each once, for a sentence. */
export function refusedCharacters(name: string): string[] {
  return [...new Set([...name].filter((c) => !CHANNEL_CHARACTER.test(c)))]
}

/** Length in characters (code points), as the rule counts it. */
export function channelNameLength(name: string): number {
  return [...name].length
}

export function isUid(uid: unknown): uid is number {
  return typeof uid === 'number' && Number.isSafeInteger(uid) && uid >= 0
}

/** The channel name as a schema field (signaling, dev tokens, IPC). */
export const ChannelNameSchema = z
  .string()
  // A cheap bound first: 64 code points are at most 128 UTF-16 units.
  .max(CHANNEL_NAME_MAX * 2)
  .refine(isChannelName, `expected a channel name: ${CHANNEL_NAME_RULE}, in NFC form`)
