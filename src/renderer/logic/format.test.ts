import { beforeAll, describe, expect, it } from 'vitest'
import { CONNECTION_REASON_NAMES, type ConnectionReason } from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import { createI18n } from '../i18n'
import { langOf, type Lang } from '../i18n/phrase'
import { formatClock, formatFps, formatKbps, formatLoss, formatMs, formatRtt } from './format'
import { PROXY_MODES, failureWords, proxyModeLabel, reasonWords, transportWords } from './words'

let en: Lang
let zh: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
  zh = langOf(await createI18n('zh-CN'))
})

describe('formatters', () => {
  it.each([
    [(l: Lang) => formatMs(l, 12.4), '12 ms'],
    [(l: Lang) => formatMs(l, undefined), '—'],
    [(l: Lang) => formatKbps(l, 640.2), '640 kbit/s'],
    [(l: Lang) => formatKbps(l, 1530), '1.53 Mbit/s'],
    [(l: Lang) => formatKbps(l, Number.NaN), '—'],
    [(l: Lang) => formatLoss(l, 0), '0 %'],
    [(l: Lang) => formatLoss(l, 0.012), '1.2 %'],
    [(l: Lang) => formatLoss(l, 0.25), '25 %'],
    [(l: Lang) => formatFps(l, 29.6), '30 fps'],
    [(l: Lang) => formatFps(l, undefined), '—'],
  ])('%#: %s', (format, expected) => {
    expect(format(en)).toBe(expected)
  })

  it('in Chinese: Chinese units, and figures and times written by Intl for zh-CN', () => {
    expect(formatMs(zh, 1234.4)).toBe('1,234 毫秒')
    expect(formatFps(zh, 29.6)).toBe('30 帧/秒')
    expect(formatLoss(zh, 0.012)).toBe('1.2%')
    expect(formatKbps(zh, 1530)).toBe('1.53 Mbit/s')
    const at = new Date(2026, 11, 7, 9, 5, 3, 42).getTime()
    expect(formatClock(en, at)).toBe('09:05:03.042')
    expect(formatClock(zh, at)).toBe('09:05:03.042')
  })
})

describe('words', () => {
  it('has words for every NERTC reason', () => {
    for (const reason of Object.keys(CONNECTION_REASON_NAMES).map(Number) as ConnectionReason[]) {
      expect(reasonWords(en, reason)).toMatch(/\w/)
      expect(reasonWords(zh, reason)).toMatch(/\p{Script=Han}/u)
    }
  })

  it('a failed request names the step, and the cause comes from the error: a refused token is not "unreachable"', () => {
    expect(reasonWords(en, 10)).not.toMatch(/could not be reached|unreachable/)
    expect(failureWords(en, ErrorCode.ProxySessionTokenInvalid)).toBe(
      'The join token was refused (malformed, bad signature, missing claims, unknown app key, or for another channel or uid)',
    )
    expect(failureWords(en, ErrorCode.ProxySessionTokenExpired)).toBe(
      'The join token was refused: it has expired',
    )
    expect(failureWords(en, 12345)).toBeUndefined()
    expect(failureWords(zh, ErrorCode.ProxySessionTokenExpired)).toBe('加入 Token 被拒绝：已过期')
  })

  it('lists the four proxy modes in NERTC order', () => {
    expect(PROXY_MODES.map((m) => m.value)).toEqual([0, 1, 2, 3])
    expect(proxyModeLabel(en, 2)).toBe('TCP (TLS 443)')
  })

  it.each([
    ['udp', 'UDP'],
    ['tls', 'TLS 443'],
    ['direct', 'Direct'],
  ] as const)('transport %s reads %s', (transport, words) => {
    expect(transportWords(en, transport)).toContain(words)
  })
})

describe('formatRtt', () => {
  it.each([
    [undefined, '—'],
    [Number.NaN, '—'],
    [0.93, '0.9 ms'],
    [9.96, '10.0 ms'],
    [12.4, '12 ms'],
  ])('%s → %s', (ms, text) => {
    expect(formatRtt(en, ms)).toBe(text)
  })
})
