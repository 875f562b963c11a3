import { createHmac } from 'node:crypto'

/**
 * TURN REST ephemeral credentials (draft-uberti-behave-turn-rest-00 §2.2, as coturn's
 * `use-auth-secret`): username `expiry:uid`, password `base64(HMAC-SHA1(secret, username))`. The proxy's
 * session API mints them; the TURN core recomputes the password from the username to verify.
 */

/** The password for a TURN REST username: base64(HMAC-SHA1(secret, username)). */
export function turnRestCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64')
}

/**
 * `${expiryUnixSeconds}:${user}` with expiry = floor(nowMs / 1000) + ttlSeconds. The session API's user is
 * `appKey:uid`; the TURN core only counts it (per-user quotas), never interprets it.
 */
export function makeTurnUsername(uid: number | string, ttlSeconds: number, nowMs: number): string {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new RangeError(`ttlSeconds must be > 0: ${ttlSeconds}`)
  return `${Math.floor(nowMs / 1000) + ttlSeconds}:${uid}`
}

/**
 * Splits `expiry:user` (`uid` is the user part: `appKey:uid` from the session API); undefined if the
 * username is not in that form.
 */
export function parseTurnUsername(username: string): { expiresAtSeconds: number; uid: string } | undefined {
  const match = /^(\d{1,12}):(.{1,256})$/.exec(username)
  if (!match) return undefined
  return { expiresAtSeconds: Number(match[1]), uid: match[2]! }
}
