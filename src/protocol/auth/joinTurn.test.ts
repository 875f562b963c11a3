import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { mintJoinToken, verifyJoinToken } from './joinToken'
import {
  MAX_TURN_USERNAME_BYTES,
  isJoinTurnUsername,
  joinTurnCredentials,
  verifyJoinTurnUsername,
} from './joinTurn'
import { parseTurnUsername } from './turnRest'

const NOW = 1_750_000_000_000
const SECRET = 's3cret-s3cret-s3cret'
const secretFor = (appKey: string): string | undefined => (appKey === 'app' ? SECRET : undefined)
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A token signed with SECRET over any header and payload (what a forger with the secret could make). */
function signed(header: unknown, payload: unknown): string {
  const body = `${b64(header)}.${b64(payload)}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

const now = NOW / 1000
const HS256 = { alg: 'HS256', typ: 'JWT' }
const claims = { appKey: 'app', channel: 'ch', uid: 9, iat: now, exp: now + 60 }

describe('TURN credentials derived from a join token', () => {
  it('are the token’s header.payload and signature, and the server derives the same password', async () => {
    const token = await mintJoinToken({
      appKey: 'app',
      secret: SECRET,
      channel: 'ch',
      uid: 9,
      ttlSeconds: 60,
      now: NOW,
    })
    const pair = joinTurnCredentials(token)!
    expect(`${pair.username}.${pair.credential}`).toBe(token)
    expect(isJoinTurnUsername(pair.username)).toBe(true)
    // A REST username never reads as a token one, nor the other way round.
    expect(parseTurnUsername(pair.username)).toBeUndefined()
    expect(isJoinTurnUsername('1750000060:app:9')).toBe(false)
    const user = verifyJoinTurnUsername(pair.username, { secretFor, nowMs: NOW })
    expect(user).toEqual({
      ok: true,
      credential: pair.credential,
      verdict: { ok: true, claims: { appKey: 'app', channel: 'ch', uid: 9, exp: now + 60 } },
    })
  })

  it('gives none for what is not a JWT or is too long for a STUN USERNAME', () => {
    expect(joinTurnCredentials('not-a-jwt')).toBeUndefined()
    expect(joinTurnCredentials('a.b.c.d')).toBeUndefined()
    expect(joinTurnCredentials('a.b+.c')).toBeUndefined()
    const long = signed(HS256, { ...claims, channel: 'c'.repeat(MAX_TURN_USERNAME_BYTES) })
    expect(joinTurnCredentials(long)).toBeUndefined()
    expect(verifyJoinTurnUsername(long.slice(0, long.lastIndexOf('.')), { secretFor, nowMs: NOW })).toEqual({
      ok: false,
      code: 'token_malformed',
    })
  })

  it('refuses an unknown app and garbage before deriving anything', () => {
    const other = signed(HS256, { ...claims, appKey: 'other' })
    const username = other.slice(0, other.lastIndexOf('.'))
    expect(verifyJoinTurnUsername(username, { secretFor, nowMs: NOW })).toEqual({
      ok: false,
      code: 'app_unknown',
    })
    expect(verifyJoinTurnUsername('eyJ.eyJ', { secretFor, nowMs: NOW })).toEqual({
      ok: false,
      code: 'token_malformed',
    })
    expect(
      verifyJoinTurnUsername(`${b64({ alg: 'none' })}.${b64(claims)}`, { secretFor, nowMs: NOW }),
    ).toEqual({
      ok: false,
      code: 'token_invalid',
    })
  })

  // Whatever the session API (verifyJoinToken, through jose) says of a token it can verify, the TURN
  // server says of its username: the same tokens get allocations as get sessions.
  const cases: [string, unknown, unknown][] = [
    ['valid', HS256, claims],
    ['valid without typ', { alg: 'HS256' }, claims],
    ['uid as a numeric string', HS256, { ...claims, uid: '9' }],
    ['expired beyond the tolerance', HS256, { ...claims, exp: now - 6 }],
    ['expired within the tolerance', HS256, { ...claims, exp: now - 4 }],
    ['expiring exactly at the tolerance', HS256, { ...claims, exp: now - 5 }],
    ['uid 0', HS256, { ...claims, uid: 0 }],
    ['negative uid', HS256, { ...claims, uid: -1 }],
    ['no exp', HS256, { appKey: 'app', channel: 'ch', uid: 9 }],
    ['exp a string', HS256, { ...claims, exp: String(now + 60) }],
    ['no channel', HS256, { appKey: 'app', uid: 9, exp: now + 60 }],
    ['issued in the future', HS256, { ...claims, iat: now + 60 }],
    ['not yet valid', HS256, { ...claims, nbf: now + 60 }],
    ['a crit header', { ...HS256, crit: ['exp'] }, claims],
    ['another algorithm', { alg: 'HS512' }, claims],
  ]
  for (const [name, header, payload] of cases) {
    it(`judges like the session API: ${name}`, async () => {
      const token = signed(header, payload)
      const session = await verifyJoinToken(token, { secretFor, now: () => NOW })
      const user = verifyJoinTurnUsername(token.slice(0, token.lastIndexOf('.')), { secretFor, nowMs: NOW })
      const turn = user.ok ? user.verdict : user
      expect(turn.ok).toBe(session.ok)
      if (!turn.ok && !session.ok) expect(turn.code).toBe(session.code)
      if (user.ok) expect(user.credential).toBe(token.slice(token.lastIndexOf('.') + 1))
    })
  }
})
