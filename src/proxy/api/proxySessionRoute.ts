import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import {
  PROXY_SESSION_PATH,
  PROXY_SESSION_VERSION,
  ProxyApiErrorCode,
  ProxySessionRequestSchema,
  SIGNAL_PATH,
  type ProxySessionInfo,
} from '../../shared/proxySession'
import { makeTurnUsername, turnRestCredential } from '../../protocol/auth/turnRest'
import { ClusterErrorCode, PlacementError, type ChannelPlacement } from '../../shared/cluster'
import { mintRouteTicket, ROUTE_PARAM, ROUTE_TICKET_TTL_MS, routeTicketKey } from './routeTicket'
import { HttpError, readJsonBody, sendJson, type Route } from './httpApp'
import {
  JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  verifyJoinToken,
  type JoinClaims,
} from '../../protocol/auth/joinToken'

/**
 * `POST /v1/proxy/session` (the call's first step, docs/architecture.md "A call's life"): checks the
 * join token and answers with the TURN URLs, ephemeral TURN REST credentials (with the realm and a nonce
 * for the caller's address), the signaling URL and the certificate fingerprint to pin.
 */

export interface AppCredentials {
  appKey: string
  secret: string
}

export interface SessionApiOptions {
  apps: AppCredentials[]
  /** Shared with the TURN server: TURN REST passwords are HMAC-SHA1(turnSecret, username). */
  turnSecret: string
  /** The address clients reach the proxy at (IP or DNS name), as put in URLs. */
  publicHost: string
  region: string
  /** Public ports: UDP 3478 and 7070, TCP 443 (or a free high port for the local stack). */
  ports: { udp: number; udpAlt: number; tcp: number }
  tlsFingerprintSha256: string
  /** TURN credential lifetime (default 3600 s). */
  credentialTtlSeconds?: number
  /** Request body limit (default 16384 bytes). */
  maxBodyBytes?: number
  /** Allowed clock skew on the token's times, seconds (default JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS). */
  clockToleranceSeconds?: number
  now?: () => number
  /** Called after each successful session, e.g. for an audit log. */
  onSession?: (claims: JoinClaims) => void
  /**
   * Conference nodes in a cluster (docs/scaling.md): the channel is placed and the signaling URL carries a
   * route ticket naming its node. Without it, signaling goes to the relay's one configured upstream.
   */
  placement?: ChannelPlacement
  /**
   * The TURN server's realm and nonces (turn/core/auth.ts, the same nonce key): the answer carries a
   * nonce minted for the requesting address, so the client's first Allocate is already authenticated
   * instead of drawing a 401 (issue 15). Without it, the answer has neither.
   */
  turnNonce?: { realm: string; make(clientIp: string, now: number): string }
}

export const SESSION_API_DEFAULTS = {
  credentialTtlSeconds: 3600,
  maxBodyBytes: 16_384,
  clockToleranceSeconds: JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
} as const

export function createSessionApiRoute(options: SessionApiOptions): Route {
  const secrets = new Map(options.apps.map((app) => [app.appKey, app.secret]))
  const now = options.now ?? Date.now
  const ttlSeconds = options.credentialTtlSeconds ?? SESSION_API_DEFAULTS.credentialTtlSeconds
  const ticketKey = routeTicketKey(options.turnSecret)
  const maxBodyBytes = options.maxBodyBytes ?? SESSION_API_DEFAULTS.maxBodyBytes

  async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = await tokenOf(req, maxBodyBytes)
    const result = await verifyJoinToken(token, {
      secretFor: (appKey) => secrets.get(appKey),
      now,
      clockToleranceSeconds: options.clockToleranceSeconds ?? SESSION_API_DEFAULTS.clockToleranceSeconds,
    })
    if (!result.ok) throw new HttpError(401, result.code, result.message)
    const route = options.placement ? await routeFor(options.placement, result.claims) : undefined
    options.onSession?.(result.claims)
    const info = buildSessionInfo(options, result.claims, ttlSeconds, now(), route)
    const clientIp = req.socket.remoteAddress
    if (options.turnNonce && clientIp) {
      const { realm, make } = options.turnNonce
      info.turn = { ...info.turn, realm, nonce: make(clientIp, now()) }
    }
    sendJson(res, 200, info)
  }

  /** Places the channel and signs where it lives; a cluster that cannot answer is a 503 the engine retries. */
  async function routeFor(placement: ChannelPlacement, claims: JoinClaims): Promise<string> {
    const channel = { appKey: claims.appKey, name: claims.channel }
    try {
      const node = await placement.place(channel)
      return mintRouteTicket(ticketKey, { ...node, ...channel, expiresAt: now() + ROUTE_TICKET_TTL_MS })
    } catch (error) {
      // Anything else the placement throws is still the cluster store failing, not this request.
      const code = error instanceof PlacementError ? error.code : ClusterErrorCode.Unavailable
      const message = error instanceof Error ? error.message : String(error)
      throw new HttpError(503, code, `channel placement failed: ${message}`, { cause: error })
    }
  }

  return { method: 'POST', path: PROXY_SESSION_PATH, handler }
}

/**
 * The answer for one user of one app at `nowMs`; `route`, a route ticket for the signaling URL. The TURN user is `appKey:uid`: the TURN server's
 * per-user quotas count it, so uid 1 of one app never uses up uid 1 of another app's allocations.
 */
export function buildSessionInfo(
  options: Pick<SessionApiOptions, 'turnSecret' | 'publicHost' | 'region' | 'ports' | 'tlsFingerprintSha256'>,
  user: Pick<JoinClaims, 'appKey' | 'uid'>,
  ttlSeconds: number,
  nowMs: number,
  route?: string,
): ProxySessionInfo {
  const host = urlHost(options.publicHost)
  const { udp, udpAlt, tcp } = options.ports
  const username = makeTurnUsername(`${user.appKey}:${user.uid}`, ttlSeconds, nowMs)
  const expirySeconds = Number(username.slice(0, username.indexOf(':')))
  return {
    version: PROXY_SESSION_VERSION,
    region: options.region,
    serverTime: Math.floor(nowMs),
    turn: {
      urls: [
        `turn:${host}:${udp}?transport=udp`,
        `turn:${host}:${udpAlt}?transport=udp`,
        `turn:${host}:${tcp}?transport=tcp`,
        `turns:${host}:${tcp}?transport=tcp`,
      ],
      username,
      credential: turnRestCredential(options.turnSecret, username),
      ttlSeconds,
      expiresAt: expirySeconds * 1000,
    },
    signalUrl: `wss://${host}:${tcp}${SIGNAL_PATH}${route === undefined ? '' : `?${ROUTE_PARAM}=${route}`}`,
    tls: { fingerprintSha256: options.tlsFingerprintSha256 },
  }
}

/** The token from `Authorization: Bearer`, else from the JSON body `{token}`. */
async function tokenOf(req: IncomingMessage, maxBodyBytes: number): Promise<string> {
  const body = await readJsonBody(req, maxBodyBytes)
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')
  if (bearer) return bearer[1]!
  if (body === undefined) throw new HttpError(401, ProxyApiErrorCode.TokenMissing, 'no join token')
  const parsed = ProxySessionRequestSchema.safeParse(body)
  if (!parsed.success) throw HttpError.badRequest('body must be {"token": string}')
  return parsed.data.token
}

/** IPv6 literals are bracketed in URLs (RFC 3986 §3.2.2). */
function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host
}
