import { useEffect } from 'react'
import { useTranslation } from 'react-i18next'
import { chosenLanguage } from '../i18n/language'
import { useAppShallow } from './context'

/**
 * Keeps i18next and `<html lang>` on the language in force (i18n/language.ts): the user's choice from the
 * settings, else the OS's, else the browser's. Switching re-renders every `t()` at once: no restart.
 */
export function LanguageFollower(): null {
  const { i18n } = useTranslation()
  const settings = useAppShallow((s) =>
    s.settings === null ? null : { language: s.settings.language, systemLocale: s.settings.systemLocale },
  )
  const language = chosenLanguage(settings, navigator.languages)
  useEffect(() => {
    if (i18n.language !== language) void i18n.changeLanguage(language)
    document.documentElement.lang = language
  }, [i18n, language])
  return null
}
