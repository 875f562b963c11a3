import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { Method, PasswordAlgorithm } from '../../../protocol/stun/constants'
import {
  getAllAttrs,
  getAttr,
  hasIntegrity,
  longTermKey,
  verifyIntegrity,
  type DecodedMessage,
} from '../../../protocol/stun/message'
import type { ClientTransport } from './types'
import {
  JOIN_TURN_TLS_NONCE,
  isJoinTurnUsername,
  verifyJoinTurnUsername,
} from '../../../protocol/auth/joinTurn'
import { parseTurnUsername, turnRestCredential } from '../../../protocol/auth/turnRest'

/** RFC 8489 §9.2: a nonce starting with this cookie announces the security features that follow. */
const NONCE_COOKIE = 'obMatJos2'
/** Feature bit 0 (the first of 24, most significant): password algorithms. */
const FEATURES_PASSWORD_ALGORITHMS = Buffer.from([0x80, 0, 0]).toString('base64')

export type AuthFailure =
  | { kind: 'challenge' } // no credentials yet: the normal first 401
  | { kind: 'bad-request'; detail: string }
  | { kind: 'stale-nonce' }
  | { kind: 'unauthenticated'; reason: 'expired' | 'bad-username' | 'bad-integrity' | 'algorithm-mismatch' }

export type AuthResult =
  | {
      ok: true
      username: string
      uid: string
      key: Buffer
      integrity: 'sha1' | 'sha256'
      /** The request came with JOIN_TURN_TLS_NONCE, not one of ours: its answer should carry one. */
      presumedNonce?: boolean
    }
  | { ok: false; failure: AuthFailure }

export const OFFERED_ALGORITHMS = [
  { algorithm: PasswordAlgorithm.SHA256, parameters: Buffer.alloc(0) },
  { algorithm: PasswordAlgorithm.MD5, parameters: Buffer.alloc(0) },
]

/**
 * Long-term credential mechanism (RFC 8489 §9.2) with TURN REST ephemeral usernames "expiry:uid", and
 * usernames derived from join tokens (protocol/auth/joinTurn.ts) for the apps it is given.
 * Nonces are stateless: a timestamp and an HMAC over it and the client IP, so they expire (→ 438) and
 * cannot be moved to another client. The session API mints them with the same key (proxy/wiring.ts
 * `sessionNonces`) for the session answer, so a client's first Allocate needs no 401.
 */
export class Authenticator {
  private readonly nonceSecret: Buffer
  private readonly appSecrets: Map<string, string>

  constructor(
    private readonly options: {
      realm: string
      secret: string
      nonceTtlMs: number
      offerPasswordAlgorithms: boolean
      /** Shared by every worker process, so a nonce stays valid whichever worker sees the next request. */
      nonceSecret?: Buffer
      /** Apps whose join tokens give TURN credentials (joinTurn.ts); none: REST credentials only. */
      joinApps?: readonly { appKey: string; secret: string }[]
      /** Clock skew allowed on those tokens' times, seconds (the session API's default). */
      tokenClockToleranceSeconds?: number
    },
  ) {
    this.nonceSecret = options.nonceSecret ?? randomBytes(32)
    this.appSecrets = new Map((options.joinApps ?? []).map((app) => [app.appKey, app.secret]))
  }

  get realm(): string {
    return this.options.realm
  }

  makeNonce(clientIp: string, now: number): string {
    const prefix = this.options.offerPasswordAlgorithms ? NONCE_COOKIE + FEATURES_PASSWORD_ALGORITHMS : ''
    const stamp = Math.floor(now).toString(16).padStart(12, '0')
    return prefix + stamp + this.nonceMac(prefix + stamp, clientIp)
  }

  /**
   * An IPv4 client reads as `::ffff:a.b.c.d` on a dual-stack socket and as `a.b.c.d` on an IPv4 one: the
   * same address either way, so a nonce the session API minted (its TCP socket) is valid over UDP.
   */
  private nonceMac(body: string, clientIp: string): string {
    const address = clientIp.startsWith('::ffff:') && clientIp.includes('.') ? clientIp.slice(7) : clientIp
    return createHmac('sha256', this.nonceSecret).update(`${body}|${address}`).digest('hex').slice(0, 24)
  }

  private nonceIsFresh(nonce: string, clientIp: string, now: number): boolean {
    const prefix = this.options.offerPasswordAlgorithms ? NONCE_COOKIE + FEATURES_PASSWORD_ALGORITHMS : ''
    if (!nonce.startsWith(prefix) || nonce.length !== prefix.length + 12 + 24) return false
    const stamp = nonce.slice(prefix.length, prefix.length + 12)
    const mac = Buffer.from(nonce.slice(prefix.length + 12))
    const expected = Buffer.from(this.nonceMac(prefix + stamp, clientIp))
    if (!timingSafeEqual(mac, expected)) return false
    const issued = parseInt(stamp, 16)
    return Number.isFinite(issued) && now - issued <= this.options.nonceTtlMs && issued <= now + 1000
  }

  /**
   * Checks a request's credentials; the caller turns a failure into 400/401/438. `transport`: what the
   * request came over (a join token's first Allocate over TLS may bring JOIN_TURN_TLS_NONCE).
   */
  authenticate(
    message: DecodedMessage,
    clientIp: string,
    now: number,
    transport?: ClientTransport,
  ): AuthResult {
    if (!hasIntegrity(message)) return { ok: false, failure: { kind: 'challenge' } }
    const username = getAttr(message, 'USERNAME')
    const realm = getAttr(message, 'REALM')
    const nonce = getAttr(message, 'NONCE')
    if (username === undefined || realm === undefined || nonce === undefined) {
      return { ok: false, failure: { kind: 'bad-request', detail: 'USERNAME, REALM and NONCE are required' } }
    }
    // A nonce protects against replays by whoever sees the request; over TLS nobody else does.
    const presumedNonce =
      nonce === JOIN_TURN_TLS_NONCE &&
      transport === 'tls' &&
      message.method === Method.Allocate &&
      isJoinTurnUsername(username)
    if (!presumedNonce && !this.nonceIsFresh(nonce, clientIp, now))
      return { ok: false, failure: { kind: 'stale-nonce' } }
    const algorithm = this.passwordAlgorithm(message)
    if (algorithm === 'mismatch')
      return { ok: false, failure: { kind: 'unauthenticated', reason: 'algorithm-mismatch' } }

    const user = this.userOf(username, now)
    if (!user) return { ok: false, failure: { kind: 'unauthenticated', reason: 'bad-username' } }
    const key = longTermKey(username, realm, user.password, algorithm)
    if (realm !== this.options.realm || !verifyIntegrity(message, key)) {
      return { ok: false, failure: { kind: 'unauthenticated', reason: 'bad-integrity' } }
    }
    // Checked after integrity so that an attacker cannot probe which usernames are merely expired.
    if (!user.valid.ok) return { ok: false, failure: { kind: 'unauthenticated', reason: user.valid.reason } }
    const integrity = message.integritySha256Offset !== undefined ? 'sha256' : 'sha1'
    const ok: AuthResult = { ok: true, username, uid: user.valid.uid, key, integrity }
    return presumedNonce ? { ...ok, presumedNonce } : ok
  }

  /**
   * The password a username's request must be signed with, and what to answer once it is: a TURN REST
   * username (`expiry:appKey:uid`, password from the TURN secret), or a join token's `header.payload`
   * (protocol/auth/joinTurn.ts: password = the token's signature under its app's secret, the token checked
   * as the session API checks it). Both count against the same user, `appKey:uid`.
   */
  private userOf(
    username: string,
    now: number,
  ):
    | {
        password: string
        valid: { ok: true; uid: string } | { ok: false; reason: 'expired' | 'bad-username' }
      }
    | undefined {
    const parsed = parseTurnUsername(username)
    if (parsed) {
      const password = turnRestCredential(this.options.secret, username)
      if (parsed.expiresAtSeconds * 1000 < now) return { password, valid: { ok: false, reason: 'expired' } }
      return { password, valid: { ok: true, uid: parsed.uid } }
    }
    const token = verifyJoinTurnUsername(username, {
      secretFor: (appKey) => this.appSecrets.get(appKey),
      nowMs: now,
      ...(this.options.tokenClockToleranceSeconds === undefined
        ? {}
        : { clockToleranceSeconds: this.options.tokenClockToleranceSeconds }),
    })
    if (!token.ok) return undefined
    const { verdict } = token
    if (verdict.ok)
      return {
        password: token.credential,
        valid: { ok: true, uid: `${verdict.claims.appKey}:${verdict.claims.uid}` },
      }
    const reason = verdict.code === 'token_expired' ? 'expired' : 'bad-username'
    return { password: token.credential, valid: { ok: false, reason } }
  }

  /**
   * RFC 8489 §9.2.4: PASSWORD-ALGORITHM picks the key hash; when present, the request must echo the
   * PASSWORD-ALGORITHMS we offered unchanged (a downgrade check).
   */
  private passwordAlgorithm(message: DecodedMessage): 'md5' | 'sha256' | 'mismatch' {
    const chosen = getAttr(message, 'PASSWORD_ALGORITHM')
    const echoed = getAllAttrs(message, 'PASSWORD_ALGORITHMS')[0]
    if (!chosen && !echoed) return 'md5'
    if (!this.options.offerPasswordAlgorithms || !chosen || !echoed) return 'mismatch'
    const same =
      echoed.length === OFFERED_ALGORITHMS.length &&
      echoed.every((a, i) => a.algorithm === OFFERED_ALGORITHMS[i]!.algorithm && a.parameters.length === 0)
    if (!same) return 'mismatch'
    if (chosen.algorithm === PasswordAlgorithm.SHA256) return 'sha256'
    if (chosen.algorithm === PasswordAlgorithm.MD5) return 'md5'
    return 'mismatch'
  }
}
