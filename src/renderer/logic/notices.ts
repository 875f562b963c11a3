import type { EngineErrorInfo } from '../../shared/engine'
import { errorRow, isErrorCode, type ErrorActor } from '../../shared/errors'

/** One thing the user should read: an error or warning in words, with who can act on it. */
export interface Notice {
  id: number
  atMs: number
  severity: 'error' | 'warning'
  /** The engine error code; null for a problem of the renderer itself (a camera that will not start). */
  code: number | null
  /** The table's sentence (src/shared/errors.ts), or the host's message for a code it does not list. */
  sentence: string
  detail?: string
  actor?: ErrorActor
  /** What the user was doing: "Join", "Leave", "Proxy mode", an engine event… */
  context: string
}

export type NoticeInput = Omit<Notice, 'id' | 'atMs'>

const ACTOR_WORDS: Record<ErrorActor, string> = {
  user: 'You can fix this here.',
  it: 'Ask your IT department.',
  operator: "Contact the proxy or server's operator.",
  developer: 'Report this to the app developers.',
}

export function actorWords(actor: ErrorActor): string {
  return ACTOR_WORDS[actor]
}

/** A result code (e.g. joinChannel's) as a notice; null for 0. */
export function noticeFromCode(code: number, context: string, detail?: string): NoticeInput | null {
  if (code === 0) return null
  if (!isErrorCode(code)) {
    return { severity: 'error', code, sentence: `Unexpected result code ${code}.`, context, detail }
  }
  const row = errorRow(code)
  return { severity: 'error', code, sentence: row.message, actor: row.actor, context, detail }
}

/** An `error`/`warning` event or a failed invoke: the table's sentence wins over the host's message. */
export function noticeFromInfo(
  info: EngineErrorInfo,
  context: string,
  severity: Notice['severity'] = 'error',
): NoticeInput {
  const known = isErrorCode(info.code) ? errorRow(info.code) : undefined
  return {
    severity,
    code: info.code,
    sentence: known?.message ?? info.message,
    actor: known?.actor,
    detail: info.detail,
    context,
  }
}
