import type { TransportType } from '../../shared/engine'
import type { ProxyModeRule, SettingsNote } from '../../shared/settingsNotes'
import type { Lang } from '../i18n/phrase'

/**
 * The app core's settings notes (src/shared/settingsNotes.ts) in the shown language: the policy in force,
 * what it replaced, why some proxy modes cannot be chosen. The English catalogue says exactly what the
 * shared English sentences say (settingsNotes.test.ts), so the log and the English UI agree.
 */

const modeName = (lang: Lang, mode: TransportType): string => lang.t(`policy:mode.${mode}`)

function list(lang: Lang, words: readonly string[]): string {
  return words.join(lang.t('policy:listSeparator'))
}

export function settingsNoteText(lang: Lang, note: SettingsNote): string {
  const { t } = lang
  switch (note.kind) {
    case 'policyManaged': {
      const fields = list(
        lang,
        note.locked.map((f) => t(`policy:field.${f}`)),
      )
      const managed = t('policy:note.policyManaged', { path: note.path })
      return note.locked.length === 0 ? managed : managed + t('policy:note.locked', { fields })
    }
    case 'policyInvalid':
      return t('policy:note.policyInvalid', { path: note.path, reason: note.reason })
    case 'modeNotAllowed':
    case 'modeReplaced':
      return t(`policy:note.${note.kind}`, {
        wanted: modeName(lang, note.wanted),
        used: modeName(lang, note.used),
      })
    case 'regionReplaced':
    case 'regionNotOffered':
      return t(`policy:note.${note.kind}`, { wanted: note.wanted, used: note.used })
    case 'stackFailed':
      return t('policy:note.stackFailed', { why: note.why })
    case 'noRegion':
      return t('policy:note.noRegion')
  }
}

/** Every note, one after the other as the language joins sentences (Chinese: no space after 。). */
export function settingsNotesText(lang: Lang, notes: readonly SettingsNote[]): string {
  const gap = lang.locale.startsWith('zh') ? '' : ' '
  return notes.map((note) => settingsNoteText(lang, note)).join(gap)
}

export function proxyModeRuleText(lang: Lang, rule: ProxyModeRule): string {
  const modes = list(
    lang,
    rule.modes.map((m) => modeName(lang, m)),
  )
  return lang.t(`policy:rule.${rule.kind}`, { modes })
}
