import { decodeJwt, decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { mintJoinToken, verifyJoinToken } from './tokens'

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
    expect(await verifyJoinToken(token, { secretFor, now: later })).toMatchObject({
      ok: false,
      code: 'token_expired',
    })
    expect(await verifyJoinToken(token, { secretFor, now: later, clockToleranceSeconds: 10 })).toMatchObject({
      ok: true,
    })
  })

  it('rejects an oversized token before any decoding', async () => {
    expect(await verifyJoinToken('a'.repeat(5000), { secretFor })).toMatchObject({
      ok: false,
      code: 'token_malformed',
    })
  })
})
