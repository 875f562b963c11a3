/**
 * The renderer's languages (docs/i18n.md). Catalogues are JSON files, one per namespace and language:
 * `locales/<language>/<namespace>.json`; a feature adds its own namespace file in every language, and
 * `catalogue.test.ts` fails when a key exists in one language and not the other.
 */
export const LANGUAGES = ['en', 'zh-CN'] as const
export type Language = (typeof LANGUAGES)[number]
export const DEFAULT_NAMESPACE = 'common'

export type Catalogue = Record<string, unknown>

/** Every catalogue file, bundled: `{ 'en': { common: {...}, devices: {...} }, 'zh-CN': {...} }`. */
export function loadCatalogues(): Record<Language, Record<string, Catalogue>> {
  const files = import.meta.glob<Catalogue>('./locales/*/*.json', { eager: true, import: 'default' })
  const out: Record<Language, Record<string, Catalogue>> = { en: {}, 'zh-CN': {} }
  for (const [path, content] of Object.entries(files)) {
    const match = /\.\/locales\/([^/]+)\/([^/]+)\.json$/.exec(path)
    if (!match) continue
    const language = match[1] as Language
    if (!LANGUAGES.includes(language)) continue
    out[language][match[2]!] = content
  }
  return out
}

/**
 * The language to show for the OS / browser preferences (Electron `app.getLocale()`, `navigator.languages`):
 * any Chinese locale → Simplified Chinese (the only Chinese catalogue), anything else → English.
 */
export function pickLanguage(preferences: readonly string[]): Language {
  for (const tag of preferences) {
    const lower = tag.toLowerCase()
    if (lower === 'en' || lower.startsWith('en-')) return 'en'
    if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN'
  }
  return 'en'
}

/** Vite's `import.meta.glob` (vite/client declares it too; neither tsconfig loads vite's ambient types). */
declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true; import: 'default' }): Record<string, T>
  }
}
