import type { EngineErrorInfo } from '../../shared/engine'
import { appErrorActor, appErrorMessage, isErrorCode, type ErrorActor } from '../../shared/errors'
import { phrase, say, type Lang, type Phrase } from '../i18n/phrase'

/**
 * Where a notice belongs: one notice per slot, the newest replacing the one before. The connection's slot
 * holds the one cause the call is in trouble for (a join result and the engine's `error` event about it
 * are the same cause); it is emptied on every connection state change, so a rejoin that succeeds leaves
 * nothing stale above the call. Other slots are an action's (proxy mode, network check…), emptied when that
 * action next succeeds.
 */
export const CONNECTION_SLOT = 'connection'

/** One thing the user should read: an error or warning in words, with who can act on it. */
export interface Notice {
  id: number
  atMs: number
  slot: string
  severity: 'error' | 'warning'
  /** The engine error code; null for a problem of the renderer itself (a camera that will not start). */
  code: number | null
  /** The table's sentence (src/shared/errors.ts), or the host's message for a code it does not list. */
  sentence: string
  /**
   * The sentence as catalogue words, shown instead of `sentence` in the language in force (a renderer
   * problem of its own); without it, a known code shows the `errors` catalogue's sentence for the code.
   */
  phrase?: Phrase
  detail?: string
  actor?: ErrorActor
  /** What the user was doing: "Join", "Proxy mode", "Connection"… */
  context: string
  /** A button the notice offers (a device plugged in: "Use it"). */
  action?: NoticeAction
}

export interface NoticeAction {
  label: Phrase
  run(): void
}

export type NoticeInput = Omit<Notice, 'id' | 'atMs'>

/**
 * Who acts, when the sentence does not already say it: a user row's sentence says what to do, and a row
 * the network check decides (`network`) ends with where to run it.
 */
const ACTORS_TOLD: readonly ErrorActor[] = ['it', 'operator', 'developer']

export function actorWords(lang: Lang, actor: ErrorActor): string | undefined {
  return ACTORS_TOLD.includes(actor) ? lang.t(`errors:actor.${actor}`) : undefined
}

/**
 * The sentence shown: the notice's own words, else the `errors` catalogue's sentence for its code (the
 * English one is the table's, src/shared/errors.ts), else the host's message as it came.
 */
export function noticeSentence(lang: Lang, notice: Pick<Notice, 'phrase' | 'code' | 'sentence'>): string {
  if (notice.phrase) return say(lang.t, notice.phrase)
  if (notice.code !== null && isErrorCode(notice.code)) return lang.t(`errors:code.${notice.code}`)
  return notice.sentence
}

/** What the user was doing ("Join", "Proxy mode"…) in the language shown; an unknown one as it is. */
export function contextWords(lang: Lang, context: string): string {
  return lang.t(`common:context.${context}`, { defaultValue: context })
}

/** A result code (e.g. joinChannel's) as a notice; null for 0. */
export function noticeFromCode(
  code: number,
  context: string,
  slot: string = context,
  detail?: string,
): NoticeInput | null {
  if (code === 0) return null
  const base = { severity: 'error', code, context, slot, detail } as const
  if (!isErrorCode(code)) {
    return {
      ...base,
      sentence: `Unexpected result code ${code}.`,
      phrase: phrase('errors:unexpected', { code }),
    }
  }
  return { ...base, sentence: appErrorMessage(code), actor: appErrorActor(code) }
}

/** An `error`/`warning` event or a failed invoke: the table's sentence wins over the host's message. */
export function noticeFromInfo(
  info: EngineErrorInfo,
  context: string,
  severity: Notice['severity'] = 'error',
  slot: string = context,
): NoticeInput {
  const known = isErrorCode(info.code) ? info.code : undefined
  return {
    severity,
    code: info.code,
    sentence: known === undefined ? info.message : appErrorMessage(known),
    actor: known === undefined ? undefined : appErrorActor(known),
    detail: info.detail,
    context,
    slot,
  }
}

/**
 * The list with `notice` in its slot: it replaces that slot's notice. The same cause told twice (the
 * engine's event with its detail, then the join's result code without one) keeps the detail, so the
 * second telling adds only what the user was doing ("Join").
 */
export function placeNotice(notices: readonly Notice[], notice: Notice, limit: number): Notice[] {
  const previous = notices.find((n) => n.slot === notice.slot)
  const rest = notices.filter((n) => n.slot !== notice.slot)
  const sameCause = previous !== undefined && previous.code !== null && previous.code === notice.code
  const placed = sameCause ? { ...notice, detail: notice.detail ?? previous.detail } : notice
  return [...rest, placed].slice(-limit)
}
