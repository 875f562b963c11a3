/**
 * Why a join token is refused. One set of codes whichever server refuses it: the proxy's session API
 * (ProxyApiErrorCode) and the conference server's join (SignalErrorCode) both include these, and
 * src/protocol/auth/joinToken.ts returns them.
 */
export const JoinTokenFailureCode = {
  TokenMalformed: 'token_malformed',
  TokenInvalid: 'token_invalid',
  TokenExpired: 'token_expired',
  TokenClaims: 'token_claims',
  AppUnknown: 'app_unknown',
} as const
export type JoinTokenFailureCode = (typeof JoinTokenFailureCode)[keyof typeof JoinTokenFailureCode]
