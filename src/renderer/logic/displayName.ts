import { DisplayNameSchema } from '../../shared/signaling'
import { phrase, type Phrase } from '../i18n/phrase'

/**
 * The join form's display name (issue 13 item 3): optional — empty means none, and the others see the
 * uid — else 1–64 characters after trimming, no control characters (the shared DisplayNameSchema the host
 * and the server apply too). The problem is said in the `layout` catalogue's words.
 */
export function displayNameProblem(text: string): Phrase | null {
  if (text.trim() === '') return null
  const parsed = DisplayNameSchema.safeParse(text)
  if (parsed.success) return null
  return [...text.normalize('NFC').trim()].length > 64
    ? phrase('layout:nameTooLong', { max: 64 })
    : phrase('layout:nameCharacters')
}

/** What the join sends: the name as the schema makes it (trimmed, NFC), none for an empty field. */
export function joinDisplayName(
  text: string,
): { ok: true; displayName: string | undefined } | { ok: false; problem: Phrase } {
  if (text.trim() === '') return { ok: true, displayName: undefined }
  const parsed = DisplayNameSchema.safeParse(text)
  return parsed.success
    ? { ok: true, displayName: parsed.data }
    : { ok: false, problem: displayNameProblem(text) ?? phrase('layout:nameCharacters') }
}
