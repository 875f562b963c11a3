import { describe, expect, it } from 'vitest'
import { ERROR_ROWS, appErrorMessage } from '../../shared/errors'
import { UI_LANGUAGES } from '../../shared/ipc'
import { CHANNEL_NAME_MAX, CHANNEL_NAME_RULE } from '../../shared/joinRules'
import { LANGUAGES, createI18n, loadCatalogues, pickLanguage, type Catalogue } from './index'
import { chosenLanguage } from './language'

/** Every catalogue, flattened: `{ en: { 'common:joinForm.title': 'Join a channel', … }, 'zh-CN': … }`. */
const catalogues = loadCatalogues()

function flatten(prefix: string, value: unknown, out: Map<string, unknown>): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value))
      flatten(prefix === '' ? key : `${prefix}.${key}`, inner, out)
  } else out.set(prefix, value)
}

function entries(catalogue: Catalogue): Map<string, unknown> {
  const out = new Map<string, unknown>()
  flatten('', catalogue, out)
  return out
}

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/

/** The key without its plural suffix: en has `_one` and `_other` where Chinese has `_other` alone. */
const baseKey = (key: string): string => key.replace(PLURAL_SUFFIX, '')

/** `{{name}}` values and `<tag>` components (react-i18next Trans), each once, sorted. */
function placeholders(text: string): string[] {
  const names = [...text.matchAll(/\{\{\s*([\w.]+)\s*(?:,[^}]*)?\}\}/g)].map((m) => `{{${m[1]!}}}`)
  const tags = [...text.matchAll(/<\/?(\w+)\s*\/?>/g)].map((m) => `<${m[1]!}>`)
  return [...new Set([...names, ...tags])].sort()
}

/** Per namespace, per key without plural suffix: the union of the placeholders of its forms. */
function shape(language: string, namespace: string): Map<string, string[]> {
  const out = new Map<string, Set<string>>()
  for (const [key, value] of entries(catalogues[language as keyof typeof catalogues][namespace] ?? {})) {
    const base = baseKey(key)
    const set = out.get(base) ?? new Set<string>()
    if (typeof value === 'string') placeholders(value).forEach((p) => set.add(p))
    out.set(base, set)
  }
  return new Map([...out].map(([key, set]) => [key, [...set].sort()]))
}

const namespaces = [...new Set(LANGUAGES.flatMap((language) => Object.keys(catalogues[language])))].sort()

describe('catalogues', () => {
  it('the renderer and the hosts name the same languages', () => {
    expect([...LANGUAGES]).toEqual([...UI_LANGUAGES])
    expect(namespaces).toEqual(expect.arrayContaining(['common', 'errors', 'network', 'stats']))
  })

  it.each(namespaces)('%s: every key in every language, with the same {{values}} and <tags>', (namespace) => {
    const [first, ...others] = LANGUAGES.map((language) => ({ language, shape: shape(language, namespace) }))
    for (const other of others) {
      expect([...other.shape.keys()].sort(), `${other.language} vs ${first!.language}`).toEqual(
        [...first!.shape.keys()].sort(),
      )
      for (const [key, values] of first!.shape) {
        expect(other.shape.get(key), `${namespace}:${key} in ${other.language}`).toEqual(values)
      }
    }
  })

  it.each(namespaces)(
    '%s: no empty value, only strings, and every plural form each language needs',
    (namespace) => {
      for (const language of LANGUAGES) {
        const all = entries(catalogues[language][namespace] ?? {})
        const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories
        for (const [key, value] of all) {
          expect(typeof value, `${language} ${namespace}:${key}`).toBe('string')
          expect((value as string).trim(), `${language} ${namespace}:${key}`).not.toBe('')
          if (!PLURAL_SUFFIX.test(key)) continue
          for (const category of categories) {
            expect(
              all.has(`${baseKey(key)}_${category}`),
              `${language} ${namespace}:${baseKey(key)}_${category}`,
            ).toBe(true)
          }
        }
      }
    },
  )

  it.each(namespaces)(
    '%s: the Chinese is Chinese (Latin words only for names and technical terms)',
    (namespace) => {
      // Names, protocols, units and identifiers a Chinese product leaves in Latin letters.
      const latin = new Set(
        (
          'Pinhole English UDP TCP TLS STUN TURN HTTP HTTPS CONNECT DNS API ICMP NFC IT ID CA App Key Token uid ' +
          'kbit/s Mbit/s fps ms Ctrl Cmd Alt Shift Esc Enter Tab VP8 URL joinChannel leaveChannel release ' +
          'createEngine connectCall docs/engine md http host port user password redacted'
        ).split(' '),
      )
      for (const [key, value] of entries(catalogues['zh-CN'][namespace] ?? {})) {
        const text = String(value)
          .replace(/\{\{[^}]*\}\}/g, '')
          .replace(/<\/?\w+\s*\/?>/g, '')
        const foreign = (text.match(/[A-Za-z][A-Za-z0-9/]*/g) ?? []).filter((word) => !latin.has(word))
        expect(foreign, `zh-CN ${namespace}:${key}: ${String(value)}`).toEqual([])
      }
    },
  )
})

describe('the errors namespace is the shared error table', () => {
  const en = entries(catalogues.en.errors ?? {})
  const zh = entries(catalogues['zh-CN'].errors ?? {})

  it.each(ERROR_ROWS.map((row) => [row.code, row.name] as const))(
    '%s (%s): the English is the app’s sentence of src/shared/errors.ts, and there is a Chinese one',
    (code) => {
      expect(en.get(`code.${code}`)).toBe(appErrorMessage(code))
      expect(zh.get(`code.${code}`)).toMatch(/\p{Script=Han}/u)
    },
  )

  it('has no sentence for a code the table does not have', () => {
    const codes = new Set(ERROR_ROWS.map((row) => `code.${row.code}`))
    expect([...en.keys()].filter((key) => key.startsWith('code.') && !codes.has(key))).toEqual([])
  })

  it('the channel hint is the shared channel rule', () => {
    const hint = String(entries(catalogues.en.common ?? {}).get('joinForm.channelHint'))
    expect(hint.replace('{{max}}', String(CHANNEL_NAME_MAX))).toBe(`${CHANNEL_NAME_RULE}.`)
  })
})

describe('choosing the language', () => {
  it.each([
    [['zh-CN'], 'zh-CN'],
    [['zh-TW', 'en'], 'zh-CN'],
    [['zh'], 'zh-CN'],
    [['en-GB', 'zh-CN'], 'en'],
    [['fr-FR', 'zh-CN'], 'zh-CN'],
    [['fr-FR'], 'en'],
    [[], 'en'],
  ] as const)('browser languages %j → %s', (languages, language) => {
    expect(pickLanguage(languages)).toBe(language)
  })

  it('the user’s choice wins over the OS, the OS (Electron app.getLocale) over the browser', () => {
    expect(chosenLanguage(null, ['zh-CN'])).toBe('zh-CN')
    expect(chosenLanguage({ systemLocale: 'zh-CN' }, ['en-US'])).toBe('zh-CN')
    expect(chosenLanguage({ systemLocale: 'en-US' }, ['zh-CN'])).toBe('en')
    expect(chosenLanguage({ language: 'en', systemLocale: 'zh-CN' }, ['zh-CN'])).toBe('en')
    expect(chosenLanguage({ language: 'zh-CN' }, ['en-US'])).toBe('zh-CN')
    expect(chosenLanguage({}, ['zh-Hans-CN'])).toBe('zh-CN')
  })

  it('an i18next instance switches language without being made again; plurals follow each language', async () => {
    const i18n = await createI18n('en')
    expect(i18n.t('network:outline.endpoints', { count: 1 })).toBe('1 whitelisted endpoint')
    expect(i18n.t('network:outline.endpoints', { count: 4 })).toBe('4 whitelisted endpoints')
    await i18n.changeLanguage('zh-CN')
    expect(i18n.t('network:outline.endpoints', { count: 1 })).toBe('1 个白名单端点')
    expect(i18n.t('common:joinForm.join')).toBe('加入')
  })
})
