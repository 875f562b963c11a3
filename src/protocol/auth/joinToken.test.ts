import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS, mintJoinToken, verifyJoinToken } from './joinToken'

const NOW = 1_750_000_000_000
const secretFor = (appKey: string): string | undefined =>
  appKey === 'app' ? 's3cret-s3cret-s3cret' : undefined

describe('join tokens', () => {
  it('mints an HS256 JWT with appKey, channel, uid and exp that verifies', async () => {
    const token = await mintJoinToken({
      appKey: 'app',
      secret: 's3cret-s3cret-s3cret',
      channel: 'ch',
      uid: 9,
      ttlSeconds: 120,
      now: NOW,
    })
    expect(decodeProtectedHeader(token).alg).toBe('HS256')
    expect(decodeJwt(token)).toMatchObject({ appKey: 'app', channel: 'ch', uid: 9, exp: NOW / 1000 + 120 })
    const result = await verifyJoinToken(token, { secretFor, now: () => NOW })
    expect(result).toEqual({
      ok: true,
      claims: { appKey: 'app', channel: 'ch', uid: 9, exp: NOW / 1000 + 120 },
    })
  })

  it('expires at exp, with the configured clock tolerance', async () => {
    const token = await mintJoinToken({
      appKey: 'app',
      secret: 's3cret-s3cret-s3cret',
      channel: 'ch',
      uid: 9,
      ttlSeconds: 10,
      now: NOW,
    })
    const later = (): number => NOW + 15_000
    expect(await verifyJoinToken(token, { secretFor, now: later, clockToleranceSeconds: 0 })).toMatchObject({
      ok: false,
      code: 'token_expired',
    })
    expect(await verifyJoinToken(token, { secretFor, now: later, clockToleranceSeconds: 10 })).toMatchObject({
      ok: true,
    })
  })

  const signed = (claims: Record<string, unknown>): Promise<string> =>
    new SignJWT({ appKey: 'app', channel: 'ch', uid: 9, ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('s3cret-s3cret-s3cret'))
  const at = (seconds: number): number => NOW / 1000 + seconds
  const T = JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS

  it.each<[string, Record<string, unknown>, 'ok' | 'token_claims' | 'token_expired']>([
    ['iat now', { iat: at(0), exp: at(60) }, 'ok'],
    ['no iat', { exp: at(60) }, 'ok'],
    ['iat in the past', { iat: at(-3600), exp: at(60) }, 'ok'],
    ['iat ahead by exactly the allowance', { iat: at(T), exp: at(60) }, 'ok'],
    ['iat ahead by a second more than the allowance', { iat: at(T + 1), exp: at(60) }, 'token_claims'],
    ['iat a day ahead', { iat: at(86_400), exp: at(86_460) }, 'token_claims'],
    ['exp past by less than the allowance', { iat: at(-60), exp: at(1 - T) }, 'ok'],
    ['exp past by the allowance', { iat: at(-60), exp: at(-T) }, 'token_expired'],
  ])('%s (%o) → %s under the default clock-skew allowance', async (_name, claims, expected) => {
    const result = await verifyJoinToken(await signed(claims), { secretFor, now: () => NOW })
    if (expected === 'ok') expect(result).toMatchObject({ ok: true })
    else expect(result).toMatchObject({ ok: false, code: expected })
  })

  it('rejects an oversized token before any decoding', async () => {
    expect(await verifyJoinToken('a'.repeat(5000), { secretFor })).toMatchObject({
      ok: false,
      code: 'token_malformed',
    })
  })
})
