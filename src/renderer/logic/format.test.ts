import { describe, expect, it } from 'vitest'
import { CONNECTION_REASON_NAMES, type ConnectionReason } from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import { formatFps, formatKbps, formatLoss, formatMs, formatRtt } from './format'
import { PROXY_MODES, failureWords, proxyModeLabel, reasonWords, transportWords } from './words'

describe('formatters', () => {
  it.each([
    [formatMs(12.4), '12 ms'],
    [formatMs(undefined), '—'],
    [formatKbps(640.2), '640 kbit/s'],
    [formatKbps(1530), '1.53 Mbit/s'],
    [formatKbps(Number.NaN), '—'],
    [formatLoss(0), '0 %'],
    [formatLoss(0.012), '1.2 %'],
    [formatLoss(0.25), '25 %'],
    [formatFps(29.6), '30 fps'],
    [formatFps(undefined), '—'],
  ])('%s is %s', (actual, expected) => {
    expect(actual).toBe(expected)
  })
})

describe('words', () => {
  it('has words for every NERTC reason', () => {
    for (const reason of Object.keys(CONNECTION_REASON_NAMES).map(Number) as ConnectionReason[]) {
      expect(reasonWords(reason)).toMatch(/\w/)
    }
  })

  it('a failed request names the step, and the cause comes from the error: a refused token is not "unreachable"', () => {
    expect(reasonWords(10)).not.toMatch(/could not be reached|unreachable/)
    expect(failureWords(ErrorCode.ProxySessionTokenInvalid)).toBe(
      'The join token was refused (malformed, bad signature, missing claims, unknown app key, or for another channel or uid)',
    )
    expect(failureWords(ErrorCode.ProxySessionTokenExpired)).toBe(
      'The join token was refused: it has expired',
    )
    expect(failureWords(12345)).toBeUndefined()
  })

  it('lists the four proxy modes in NERTC order', () => {
    expect(PROXY_MODES.map((m) => m.value)).toEqual([0, 1, 2, 3])
    expect(proxyModeLabel(2)).toBe('TCP (TLS 443)')
  })

  it.each([
    ['udp', 'UDP'],
    ['tls', 'TLS 443'],
    ['direct', 'Direct'],
  ] as const)('transport %s reads %s', (transport, words) => {
    expect(transportWords(transport)).toContain(words)
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
    expect(formatRtt(ms)).toBe(text)
  })
})
