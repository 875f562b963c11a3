import { JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS, type JoinClaims } from '../../protocol/auth/joinToken'
import { verifyJoinRequest } from '../../protocol/auth/joinRequest'
import type { SignalErrorCode } from '../../shared/codes'
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
  // The failure codes are SignalErrorCode's own (src/shared/codes.ts spreads JoinTokenFailureCode).
  return verifyJoinRequest(request, {
    secretFor: options.secretFor ?? secretLookup(options.apps),
    ...(options.now ? { now: options.now } : {}),
    clockToleranceSeconds: options.clockToleranceSeconds ?? JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  })
}
