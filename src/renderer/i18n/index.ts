import i18next, { type i18n as I18n } from 'i18next'
import { initReactI18next } from 'react-i18next'
import { DEFAULT_NAMESPACE, LANGUAGES, loadCatalogues, type Language } from './catalogues'

/** The catalogues and the language choice live in catalogues.ts, free of React (tests in Node read them). */
export * from './catalogues'

/** A fresh i18next instance (one per app start, one per test), bound to React. */
export async function createI18n(language: Language): Promise<I18n> {
  const catalogues = loadCatalogues()
  const instance = i18next.createInstance()
  await instance.use(initReactI18next).init({
    lng: language,
    fallbackLng: 'en',
    supportedLngs: [...LANGUAGES],
    ns: Object.keys(catalogues.en),
    defaultNS: DEFAULT_NAMESPACE,
    resources: catalogues,
    // React escapes what it renders; i18next must not escape twice.
    interpolation: { escapeValue: false },
    returnNull: false,
  })
  return instance
}
