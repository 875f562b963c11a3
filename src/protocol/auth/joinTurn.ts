import { createHmac } from 'node:crypto'
import {
  JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  joinClaimsOf,
  type JoinTokenFailureCode,
  type JoinTokenResult,
} from './joinToken'

/**
 * TURN long-term credentials derived from a join token (issue 15; docs/protocol.md "TURN credentials"), the
 * way TURN REST credentials derive from the TURN secret: USERNAME = the token's `header.payload`, password
 * = its signature (base64url HMAC-SHA256 of `header.payload` under the app's secret). A client that holds
 * the token can allocate at once, without waiting for the session answer's REST credentials; the TURN
 * server, which knows the app secrets, recomputes the signature from the username and verifies the
 * request's MESSAGE-INTEGRITY with it. The signature itself never goes on the wire (it only keys the
 * HMAC), so whoever sees the TURN traffic cannot rebuild the token.
 */

export interface TurnCredentialPair {
  username: string
  credential: string
}

/** RFC 8489 §14.3: USERNAME is fewer than 509 bytes (base64url is ASCII: bytes = characters). */
export const MAX_TURN_USERNAME_BYTES = 508

const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * The credentials a token gives; undefined when it is not a three-part JWT or its `header.payload` is too
 * long for a STUN USERNAME (the client then waits for the session's REST credentials).
 */
export function joinTurnCredentials(token: string): TurnCredentialPair | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return undefined
  const username = `${parts[0]}.${parts[1]}`
  if (username.length > MAX_TURN_USERNAME_BYTES) return undefined
  return { username, credential: parts[2]! }
}

/** Whether a TURN username has the shape of a token's `header.payload` (and so is not a REST one). */
export function isJoinTurnUsername(username: string): boolean {
  const dot = username.indexOf('.')
  return (
    dot > 0 &&
    username.length <= MAX_TURN_USERNAME_BYTES &&
    BASE64URL.test(username.slice(0, dot)) &&
    BASE64URL.test(username.slice(dot + 1))
  )
}

/**
 * The NONCE of a first Allocate over TURN-over-TLS with a join token's credentials, sent before the
 * client has one of the server's (docs/proxy.md §6 "Authentication"): the server takes it there only —
 * TLS keeps anyone else from seeing or replaying the request, which is what a server-chosen nonce is for —
 * and its success answer carries a real NONCE for every later request. It saves the 401 round trip that
 * would follow the TLS handshake. With it goes the realm the client presumes, the proxy's default
 * `proxy.realm`; a proxy with another realm answers 401 with its own (the round trip is paid then).
 */
export const JOIN_TURN_TLS_NONCE = 'pinhole-join-token-over-tls'
export const JOIN_TURN_PRESUMED_REALM = 'pinhole'

export interface JoinTurnVerifyOptions {
  /** The app's secret, or undefined for an unknown appKey. */
  secretFor: (appKey: string) => string | undefined
  nowMs: number
  clockToleranceSeconds?: number
}

/**
 * A token-derived username: the password to check the request's integrity with (the signature the app's
 * secret gives), and the token's verdict — which the TURN server reads only after the integrity check
 * passed, so that nobody learns whether a token they cannot sign would be expired. Synchronous (the TURN
 * core is), with the checks `verifyJoinToken` makes through jose for HS256: the header's `alg`, no `crit`,
 * `exp` required, `nbf`, `iat` and the claims (joinClaimsOf), the same clock tolerance.
 */
export type JoinTurnUser =
  { ok: true; credential: string; verdict: JoinTokenResult } | { ok: false; code: JoinTokenFailureCode }

export function verifyJoinTurnUsername(username: string, options: JoinTurnVerifyOptions): JoinTurnUser {
  if (!isJoinTurnUsername(username)) return { ok: false, code: 'token_malformed' }
  const [headerPart, payloadPart] = username.split('.') as [string, string]
  const header = jsonObject(headerPart)
  const payload = jsonObject(payloadPart)
  if (!header || !payload) return { ok: false, code: 'token_malformed' }
  if (header.alg !== 'HS256' || header.crit !== undefined) return { ok: false, code: 'token_invalid' }
  const appKey = payload.appKey
  if (typeof appKey !== 'string' || appKey.length === 0) return { ok: false, code: 'token_claims' }
  const secret = options.secretFor(appKey)
  if (secret === undefined) return { ok: false, code: 'app_unknown' }
  const credential = createHmac('sha256', secret).update(username).digest('base64url')
  const tolerance = options.clockToleranceSeconds ?? JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS
  return { ok: true, credential, verdict: timesAndClaims(payload, options.nowMs, tolerance) }
}

/** jose's `validateClaimsSet` for what verifyJoinToken asks of it, then the join claims. */
function timesAndClaims(payload: Record<string, unknown>, nowMs: number, tolerance: number): JoinTokenResult {
  const now = Math.floor(nowMs / 1000)
  if (!Object.hasOwn(payload, 'exp')) return fail('token_claims', 'claim exp: missing')
  for (const claim of ['iat', 'nbf', 'exp']) {
    if (payload[claim] !== undefined && typeof payload[claim] !== 'number')
      return fail('token_claims', `claim ${claim}: not a number`)
  }
  if (typeof payload.nbf === 'number' && payload.nbf > now + tolerance)
    return fail('token_claims', 'claim nbf: not yet valid')
  if ((payload.exp as number) <= now - tolerance) return fail('token_expired', 'token expired')
  return joinClaimsOf(payload, nowMs, tolerance)
}

function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function fail(code: JoinTokenFailureCode, message: string): JoinTokenResult {
  return { ok: false, code, message }
}
