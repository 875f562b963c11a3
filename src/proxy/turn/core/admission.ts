import { ErrorCode } from '../../../protocol/stun/constants'
import type { Attribute } from '../../../protocol/stun/message'
import { OFFERED_ALGORITHMS, type AuthFailure, type Authenticator } from './auth'
import { KeyedRateLimiter } from './rateLimit'
import type { TurnStatsSink } from './stats'
import type { TurnCoreOptions } from './types'

export interface Refusal {
  code: ErrorCode
  extra: Attribute[]
}

/**
 * What a request gets before it is authenticated, and which of those answers are rate-limited.
 *
 * Answers that need no state and little work — the first 401 challenge, 438 with a fresh nonce — are
 * always given: the nonce is stateless, and many desktops behind one NAT address all start with a
 * challenge at once, so a per-IP limit on it refuses an office rather than an attacker. What costs is
 * limited instead: credentials that were checked and refused (key derivation and HMACs, and the
 * brute-force path) per source IP, and allocations (a relay socket each) per TURN username. Successful
 * authentications are never charged, so a flood of bad credentials from one address does not lock out
 * the colleagues behind the same NAT.
 */
export class Admission {
  private readonly failures: KeyedRateLimiter
  private readonly allocations: KeyedRateLimiter

  constructor(
    private readonly auth: Authenticator,
    private readonly options: TurnCoreOptions,
    private readonly stats: TurnStatsSink,
  ) {
    this.failures = new KeyedRateLimiter({
      ratePerSecond: options.unauthenticatedPerSecond,
      burst: options.unauthenticatedBurst,
    })
    const perSecond = options.allocationsPerSecond
    this.allocations = new KeyedRateLimiter({ ratePerSecond: perSecond, burst: 2 * perSecond })
  }

  /**
   * The error answer for a request that did not authenticate, or undefined when the source IP has used
   * up its allowance of failed authentications (the caller drops the request and counts it).
   */
  refuse(failure: AuthFailure, clientIp: string, now: number): Refusal | undefined {
    switch (failure.kind) {
      case 'challenge':
        return { code: ErrorCode.Unauthenticated, extra: this.challenge(clientIp, now) }
      case 'stale-nonce':
        this.stats.authFailure('stale-nonce')
        return { code: ErrorCode.StaleNonce, extra: this.challenge(clientIp, now) }
      case 'bad-request':
        if (!this.failures.take(clientIp, now)) return undefined
        this.stats.authFailure('bad-request')
        return { code: ErrorCode.BadRequest, extra: [] }
      case 'unauthenticated':
        if (!this.failures.take(clientIp, now)) return undefined
        this.stats.authFailure(failure.reason)
        return failure.reason === 'algorithm-mismatch'
          ? { code: ErrorCode.BadRequest, extra: [] }
          : { code: ErrorCode.Unauthenticated, extra: this.challenge(clientIp, now) }
      default:
        return assertNever(failure)
    }
  }

  /** Whether `username` may open another relay now (its bucket refills at `allocationsPerSecond`). */
  allocationAllowed(username: string, now: number): boolean {
    return this.allocations.take(username, now)
  }

  private challenge(clientIp: string, now: number): Attribute[] {
    const attrs: Attribute[] = [
      { name: 'REALM', value: this.auth.realm },
      { name: 'NONCE', value: this.auth.makeNonce(clientIp, now) },
    ]
    if (this.options.offerPasswordAlgorithms)
      attrs.push({ name: 'PASSWORD_ALGORITHMS', value: OFFERED_ALGORITHMS })
    return attrs
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`)
}
