import { z } from 'zod'
import { ClusterErrorCode } from './cluster'
import { JoinTokenFailureCode } from './joinTokenCodes'

/**
 * The proxy session contract, the first step of a join (docs/architecture.md): `POST /v1/proxy/session`
 * on the proxy's TCP 443 with a join token, answered with everything the engine configures itself with.
 * Shared by the proxy (which builds the answer) and the engine (which validates it).
 */

export const PROXY_SESSION_PATH = '/v1/proxy/session'
export const SIGNAL_PATH = '/v1/signal'
export const PROXY_SESSION_VERSION = 1

/** Request body. The token may instead come as `Authorization: Bearer <token>`. */
export const ProxySessionRequestSchema = z.object({ token: z.string().min(1) })
export type ProxySessionRequest = z.infer<typeof ProxySessionRequestSchema>

export const TurnUrlSchema = z.string().regex(/^turns?:[^?\s]+(\?transport=(udp|tcp))?$/, 'not a TURN URL')

export const ProxySessionInfoSchema = z.object({
  version: z.literal(PROXY_SESSION_VERSION),
  region: z.string().min(1),
  /** The proxy's clock, ms since the epoch (lets clients detect skew against credential expiry). */
  serverTime: z.number().int().nonnegative(),
  turn: z.object({
    /** udp 3478, udp 7070, tcp 443, tls 443 — in that order. */
    urls: z.array(TurnUrlSchema).min(1),
    /** TURN REST username `expiry:appKey:uid` (opaque to clients). */
    username: z.string().min(1),
    /** base64(HMAC-SHA1(secret, username)). */
    credential: z.string().min(1),
    ttlSeconds: z.number().int().positive(),
    /** When the credential stops working, ms since the epoch (the username's expiry × 1000). */
    expiresAt: z.number().int().nonnegative(),
    /**
     * The TURN realm and a nonce minted for the requesting address (RFC 8489 §9.2): the first Allocate
     * carries them and is answered at once, not 401. Stale or from another address: 438 and a fresh one.
     */
    realm: z.string().min(1).max(763).optional(),
    nonce: z.string().min(1).max(763).optional(),
  }),
  /** `wss://host:443/v1/signal`. */
  signalUrl: z.string().regex(/^wss?:\/\/\S+$/, 'not a WebSocket URL'),
  tls: z.object({
    /** SHA-256 of the DER certificate, uppercase hex pairs joined by colons ("AB:CD:…"). */
    fingerprintSha256: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'not a SHA-256 fingerprint'),
  }),
})
export type ProxySessionInfo = z.infer<typeof ProxySessionInfoSchema>

/** Error codes the proxy's HTTP API answers with. */
export const ProxyApiErrorCode = {
  BadRequest: 'bad_request',
  NotFound: 'not_found',
  MethodNotAllowed: 'method_not_allowed',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  TokenMissing: 'token_missing',
  ...JoinTokenFailureCode,
  /** Plain HTTP on the proxy's TCP port: the API and signaling answer over TLS only. */
  TlsRequired: 'tls_required',
  /** 503: the region's conference cluster cannot place the channel now (docs/scaling.md); retry. */
  ClusterUnavailable: ClusterErrorCode.Unavailable,
  NoNodeAvailable: ClusterErrorCode.NoNode,
  Internal: 'internal',
} as const
export type ProxyApiErrorCode = (typeof ProxyApiErrorCode)[keyof typeof ProxyApiErrorCode]

/** Every non-2xx answer of the proxy's HTTP API. `code` stays a string so older clients parse newer codes. */
export const ProxyApiErrorSchema = z.object({
  error: z.object({ code: z.string().min(1), message: z.string() }),
})
export type ProxyApiError = z.infer<typeof ProxyApiErrorSchema>
