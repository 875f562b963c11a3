import { beforeAll, describe, expect, it } from 'vitest'
import { TransportType } from '../../shared/engine'
import {
  proxyModeRuleSentence,
  settingsNoteSentence,
  type ProxyModeRule,
  type SettingsNote,
} from '../../shared/settingsNotes'
import { createI18n } from '../i18n'
import { langOf, type Lang } from '../i18n/phrase'
import { proxyModeRuleText, settingsNotesText, settingsNoteText } from './settingsNotes'

const NOTES: SettingsNote[] = [
  { kind: 'policyManaged', path: '/etc/pinhole/policy.json', locked: [] },
  { kind: 'policyManaged', path: 'C:\\ProgramData\\Pinhole\\policy.json', locked: ['cloudProxy', 'regions'] },
  { kind: 'policyInvalid', path: '/etc/pinhole/policy.json', reason: 'proxyMode.forced: expected 0-3' },
  { kind: 'modeNotAllowed', wanted: TransportType.None, used: TransportType.TCPProxy },
  { kind: 'modeReplaced', wanted: TransportType.Auto, used: TransportType.UDPProxy },
  { kind: 'regionReplaced', wanted: 'beijing', used: 'shanghai' },
  { kind: 'regionNotOffered', wanted: 'chengdu', used: 'auto' },
  { kind: 'stackFailed', why: 'no ports' },
  { kind: 'noRegion' },
]
const RULES: ProxyModeRule[] = [
  { kind: 'invalidPolicy', modes: [TransportType.TCPProxy] },
  { kind: 'forced', modes: [TransportType.UDPProxy] },
  { kind: 'allowed', modes: [TransportType.UDPProxy, TransportType.TCPProxy] },
]

let en: Lang
let zh: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
  zh = langOf(await createI18n('zh-CN'))
})

describe('the settings notes in the user’s language', () => {
  it.each(NOTES.map((n) => [n.kind, n] as const))('%s: English is the shared sentence', (_, note) => {
    expect(settingsNoteText(en, note)).toBe(settingsNoteSentence(note))
  })

  it.each(RULES.map((r) => [r.kind, r] as const))('rule %s: English is the shared sentence', (_, rule) => {
    expect(proxyModeRuleText(en, rule)).toBe(proxyModeRuleSentence(rule))
  })

  it('Chinese: no English sentence, the data (paths, regions, reasons) kept as given', () => {
    const english = [...NOTES.map(settingsNoteSentence), ...RULES.map(proxyModeRuleSentence)]
    for (const note of NOTES) {
      const text = settingsNoteText(zh, note)
      expect(text).toMatch(/[\u4e00-\u9fff]/)
      expect(english).not.toContain(text)
      for (const value of ['path', 'reason', 'wanted', 'used', 'why'] as const) {
        const given = (note as Record<string, unknown>)[value]
        if (typeof given === 'string') expect(text).toContain(given)
      }
    }
    expect(settingsNoteText(zh, NOTES[1]!)).toContain('代理模式、区域列表')
    expect(proxyModeRuleText(zh, RULES[2]!)).toBe('IT 策略只允许以下代理模式：UDP 代理、TCP（TLS 443）代理。')
  })

  it('several notes are one paragraph, joined as each language joins sentences', () => {
    const two = [NOTES[0]!, NOTES[5]!]
    expect(settingsNotesText(en, two)).toBe(two.map(settingsNoteSentence).join(' '))
    expect(settingsNotesText(zh, two)).toBe(two.map((n) => settingsNoteText(zh, n)).join(''))
  })
})
