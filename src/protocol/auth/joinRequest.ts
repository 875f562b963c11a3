import {
  JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  verifyJoinToken,
  type JoinClaims,
  type JoinTokenFailureCode,
  type VerifyJoinTokenOptions,
} from './joinToken'

/**
 * A join request checked against its token: the conference server's `join` (src/sfu/room/joinCheck.ts) and
 * the proxy's signaling relay when the join comes with the WebSocket upgrade (src/proxy/api/signalJoin.ts)
 * apply the same checks in the same order, so that both refuse the same join with the same code.
 */

export type JoinRequestFailureCode =
  JoinTokenFailureCode | 'uid_invalid' | 'token_channel_mismatch' | 'token_uid_mismatch'

export type JoinRequestVerdict =
  { ok: true; claims: JoinClaims } | { ok: false; code: JoinRequestFailureCode; message: string }

/** Refusals come back as a code, in a fixed order: uid, token, channel, uid claim. Never throws. */
export async function verifyJoinRequest(
  request: { token: string; channel: string; uid: number },
  options: VerifyJoinTokenOptions,
): Promise<JoinRequestVerdict> {
  if (!Number.isSafeInteger(request.uid) || request.uid <= 0) {
    return { ok: false, code: 'uid_invalid', message: 'uid must be a positive integer' }
  }
  const verified = await verifyJoinToken(request.token, {
    ...options,
    clockToleranceSeconds: options.clockToleranceSeconds ?? JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  })
  if (!verified.ok) return verified
  const { claims } = verified
  if (claims.channel !== request.channel) {
    return { ok: false, code: 'token_channel_mismatch', message: 'token is for another channel' }
  }
  if (claims.uid !== request.uid) {
    return { ok: false, code: 'token_uid_mismatch', message: 'token is for another uid' }
  }
  return { ok: true, claims }
}
