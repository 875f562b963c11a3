import type { AppSettings } from '../../shared/ipc'
import { pickLanguage, type Language } from './index'

/**
 * The language to show: the user's choice in the app, else the OS locale the host reports (Electron
 * `app.getLocale()`), else the browser's preferences (`navigator.languages`); before the settings have
 * arrived, the browser's alone.
 */
export function chosenLanguage(
  settings: Pick<AppSettings, 'language' | 'systemLocale'> | null,
  browserLanguages: readonly string[],
): Language {
  if (settings?.language !== undefined) return settings.language
  const system = settings?.systemLocale
  return pickLanguage(system === undefined ? browserLanguages : [system, ...browserLanguages])
}

/** The language the OS alone would pick (the "follow the system" option says which it is). */
export function systemLanguage(
  settings: Pick<AppSettings, 'systemLocale'> | null,
  browserLanguages: readonly string[],
): Language {
  return chosenLanguage(settings === null ? null : { systemLocale: settings.systemLocale }, browserLanguages)
}
