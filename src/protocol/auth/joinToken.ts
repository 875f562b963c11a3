import { SignJWT, decodeJwt, errors, jwtVerify } from 'jose'
import { z } from 'zod'
import type { JoinTokenFailureCode } from '../../shared/joinTokenCodes'

/**
 * Join tokens (docs/architecture.md, "Protocols"): HS256 JWTs signed with the app's secret, claims
 * `{appKey, channel, uid, exp}`. The proxy and the conference server both verify them; the embedded local
 * stack mints them.
 */

export interface JoinClaims {
  appKey: string
  channel: string
  /** Positive safe integer; a numeric string in the token is accepted and converted. */
  uid: number
  /** Expiry, seconds since the epoch. */
  exp: number
}

export type { JoinTokenFailureCode }

export type JoinTokenResult =
  { ok: true; claims: JoinClaims } | { ok: false; code: JoinTokenFailureCode; message: string }

export interface MintJoinTokenOptions {
  appKey: string
  secret: string
  channel: string
  uid: number
  ttlSeconds: number
  /** ms since the epoch; defaults to Date.now(). */
  now?: number
}

/**
 * Clock skew allowed between whoever mints a token and whoever checks it, seconds: on `exp`, `nbf` and a
 * future `iat`. The proxy's session API and the conference server both default to it (the conference
 * server's `sfu.tokenClockToleranceSeconds` too), so a token one accepts the other does not refuse.
 */
export const JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS = 5

export interface VerifyJoinTokenOptions {
  /** The app's secret, or undefined for an unknown appKey. */
  secretFor: (appKey: string) => string | undefined
  now?: () => number
  /** Allowed clock skew, seconds (default JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS). */
  clockToleranceSeconds?: number
}

/** Tokens are a few hundred bytes; anything far larger is rejected before any crypto. */
const MAX_TOKEN_LENGTH = 4096

const uidSchema = z.union([
  z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^[1-9]\d{0,15}$/)
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER)),
])

const claimsSchema = z.object({
  appKey: z.string().min(1),
  channel: z.string().min(1),
  uid: uidSchema,
  exp: z.number().int(),
})

const encoder = new TextEncoder()

export async function mintJoinToken(options: MintJoinTokenOptions): Promise<string> {
  const { appKey, secret, channel, uid, ttlSeconds } = options
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000)
  return new SignJWT({ appKey, channel, uid })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ttlSeconds)
    .sign(encoder.encode(secret))
}

/** Verifies a join token; expected failures come back as a code, never as a throw. */
export async function verifyJoinToken(
  token: string,
  options: VerifyJoinTokenOptions,
): Promise<JoinTokenResult> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH)
    return fail('token_malformed', 'bad token length')
  // The unverified payload only tells us whose secret to verify with; nothing else is trusted from it.
  let appKey: unknown
  try {
    appKey = decodeJwt(token).appKey
  } catch {
    return fail('token_malformed', 'not a JWT')
  }
  if (typeof appKey !== 'string' || appKey.length === 0) return fail('token_claims', 'appKey claim missing')
  const secret = options.secretFor(appKey)
  if (secret === undefined) return fail('app_unknown', 'unknown appKey')

  let payload: Record<string, unknown>
  const nowMs = (options.now ?? Date.now)()
  const tolerance = options.clockToleranceSeconds ?? JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS
  try {
    const verified = await jwtVerify(token, encoder.encode(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
      currentDate: new Date(nowMs),
      clockTolerance: tolerance,
    })
    payload = verified.payload
  } catch (error) {
    return classifyJoseError(error)
  }
  return joinClaimsOf(payload, nowMs, tolerance)
}

/**
 * The checks after the signature and jose's time checks, shared with the TURN server's check of
 * token-derived credentials (joinTurn.ts), so that both accept the same tokens.
 */
export function joinClaimsOf(
  payload: Record<string, unknown>,
  nowMs: number,
  tolerance: number,
): JoinTokenResult {
  // jose checks `iat` only against a maximum age; a token issued in the future was minted by a clock
  // that is wrong (or by someone stretching its life), so it is refused beyond the allowed skew.
  if (typeof payload.iat === 'number' && payload.iat > nowMs / 1000 + tolerance) {
    return fail('token_claims', `claim iat: issued in the future (more than ${tolerance} s ahead)`)
  }
  const parsed = claimsSchema.safeParse(payload)
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))].join(', ')
    return fail('token_claims', `invalid claims: ${fields}`)
  }
  return { ok: true, claims: parsed.data }
}

function classifyJoseError(error: unknown): JoinTokenResult {
  if (error instanceof errors.JWTExpired) return fail('token_expired', 'token expired')
  if (error instanceof errors.JWTClaimValidationFailed)
    return fail('token_claims', `claim ${error.claim}: ${error.reason}`)
  if (error instanceof errors.JWSSignatureVerificationFailed) return fail('token_invalid', 'bad signature')
  if (error instanceof errors.JOSEAlgNotAllowed) return fail('token_invalid', 'algorithm not allowed')
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return fail('token_malformed', error.message)
  }
  if (error instanceof errors.JOSEError) return fail('token_invalid', error.message)
  throw error
}

function fail(code: JoinTokenFailureCode, message: string): JoinTokenResult {
  return { ok: false, code, message }
}
