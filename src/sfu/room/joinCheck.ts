import {
  JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  type JoinClaims,
  type JoinTokenFailureCode,
  verifyJoinToken,
} from '../../protocol/auth/joinToken'
import { SignalErrorCode } from '../../shared/codes'
import type { SfuApp } from '../config'

/**
 * Join-token checks of the conference server: the shared verifier (signature, expiry, claims) and then the
 * two claims only the server can check, the channel and the uid the client asks to join with.
 */

export type JoinVerdict =
  { ok: true; claims: JoinClaims } | { ok: false; code: SignalErrorCode; message: string }

export interface JoinCheckOptions {
  apps: readonly SfuApp[]
  now?: () => number
  clockToleranceSeconds?: number
}

const FAILURE_CODES: Record<JoinTokenFailureCode, SignalErrorCode> = {
  token_malformed: SignalErrorCode.TokenMalformed,
  token_invalid: SignalErrorCode.TokenInvalid,
  token_expired: SignalErrorCode.TokenExpired,
  token_claims: SignalErrorCode.TokenClaims,
  app_unknown: SignalErrorCode.AppUnknown,
}

/** Builds the `secretFor` lookup once per app list. */
export function secretLookup(apps: readonly SfuApp[]): (appKey: string) => string | undefined {
  const byKey = new Map(apps.map((app) => [app.appKey, app.secret]))
  return (appKey) => byKey.get(appKey)
}

/** Refusals come back as a code, in a fixed order: uid, token, channel, uid claim. Never throws. */
export async function checkJoin(
  request: { token: string; channel: string; uid: number },
  options: JoinCheckOptions & { secretFor?: (appKey: string) => string | undefined },
): Promise<JoinVerdict> {
  if (!Number.isSafeInteger(request.uid) || request.uid <= 0) {
    return { ok: false, code: SignalErrorCode.UidInvalid, message: 'uid must be a positive integer' }
  }
  const verified = await verifyJoinToken(request.token, {
    secretFor: options.secretFor ?? secretLookup(options.apps),
    ...(options.now ? { now: options.now } : {}),
    clockToleranceSeconds: options.clockToleranceSeconds ?? JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  })
  if (!verified.ok) return { ok: false, code: FAILURE_CODES[verified.code], message: verified.message }
  const { claims } = verified
  if (claims.channel !== request.channel) {
    return { ok: false, code: SignalErrorCode.TokenChannelMismatch, message: 'token is for another channel' }
  }
  if (claims.uid !== request.uid) {
    return { ok: false, code: SignalErrorCode.TokenUidMismatch, message: 'token is for another uid' }
  }
  return { ok: true, claims }
}
