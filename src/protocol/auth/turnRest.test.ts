import { describe, expect, it } from 'vitest'
import { makeTurnUsername, parseTurnUsername, turnRestCredential } from './turnRest'

describe('TURN REST credentials', () => {
  it('derives the password as base64(HMAC-SHA1(secret, username)) (vector from openssl)', () => {
    // printf '%s' '1700003600:42' | openssl dgst -sha1 -hmac 'turn-secret' -binary | base64
    expect(turnRestCredential('turn-secret', '1700003600:42')).toBe('aRA8q+LFpiXP51Gs7gCTO1ttPGo=')
  })

  it('builds `expiry:uid` from the clock and the TTL, expiry in whole seconds', () => {
    expect(makeTurnUsername(42, 3600, 1_700_000_000_999)).toBe('1700003600:42')
    expect(makeTurnUsername('7', 60, 0)).toBe('60:7')
  })

  it.each([0, -5, 1.5])('rejects a TTL of %s', (ttl) => {
    expect(() => makeTurnUsername(1, ttl, 0)).toThrow(RangeError)
  })

  it.each([
    ['1700003600:42', { expiresAtSeconds: 1700003600, uid: '42' }],
    ['1:a:b', { expiresAtSeconds: 1, uid: 'a:b' }],
    ['42', undefined],
    [':42', undefined],
    ['x:42', undefined],
    ['1700003600:', undefined],
  ])('parses %j', (username, expected) => {
    expect(parseTurnUsername(username)).toEqual(expected)
  })
})
