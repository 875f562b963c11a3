import { useMemo } from 'react'
import { useTranslation } from 'react-i18next'
import type { i18n as I18n, TFunction } from 'i18next'

/**
 * Words kept in the store or returned by the renderer's logic before they are shown: a catalogue key and
 * its values, not a sentence, so the text follows the language when the user switches it (a sentence in
 * the store would stay in the language it was made in). A value may itself be a phrase, or a list of
 * phrases (joined with the language's separator), said in the same language.
 */
export interface Phrase {
  /** `namespace:key`, e.g. `common:joinForm.problem.enterChannel`. */
  key: string
  values?: Record<string, PhraseValue>
}

export type PhraseValue = string | number | Phrase | { list: readonly Phrase[]; separator: string }

export function phrase(key: string, values?: Phrase['values']): Phrase {
  return values === undefined ? { key } : { key, values }
}

/** What the logic needs to put words into the shown language: its catalogue and its `Intl` locale. */
export interface Lang {
  t: TFunction
  locale: string
}

export function langOf(i18n: I18n): Lang {
  return { t: i18n.t.bind(i18n), locale: i18n.language }
}

/** The language in force, for components; a new object only when the language changes. */
export function useLang(): Lang {
  const { t, i18n } = useTranslation()
  const locale = i18n.language
  return useMemo(() => ({ t, locale }), [t, locale])
}

/** The phrase in the language of `t`; `count` picks the plural form (i18next's `_one`/`_other`). */
export function say(t: TFunction, words: Phrase): string {
  const values: Record<string, string | number> = {}
  for (const [name, value] of Object.entries(words.values ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') values[name] = value
    else if ('list' in value) values[name] = value.list.map((item) => say(t, item)).join(t(value.separator))
    else values[name] = say(t, value)
  }
  return t(words.key, values)
}

/** `say` in the language in force, for components. */
export function useSay(): (words: Phrase) => string {
  const { t } = useLang()
  return useMemo(() => (words: Phrase) => say(t, words), [t])
}
