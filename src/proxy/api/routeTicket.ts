import { createHmac, timingSafeEqual } from 'node:crypto'
import type { ChannelRef, NodePlacement } from '../../shared/cluster'

/**
 * Route tickets (docs/proxy.md "Routing to conference nodes"): the session API places the channel and puts
 * a ticket in the signaling URL it answers with (`wss://host:443/v1/signal?route=<ticket>`); the signal
 * relay dials the node the ticket names instead of `signal.upstream`. A ticket is the node's id and
 * signaling URL, the channel and an expiry, signed with a key derived from the TURN secret: the proxies of
 * a region share that secret, so a ticket minted by one is accepted by another, and no client can name a
 * node (or any other address) of its own.
 */

/** The query parameter that carries the ticket. */
export const ROUTE_PARAM = 'route'

/** Long enough for a join (session → transport probes → signaling), short enough that a stolen one is stale. */
export const ROUTE_TICKET_TTL_MS = 60_000

export interface RouteTicket extends NodePlacement, ChannelRef {
  /** ms since the epoch after which the relay refuses it. */
  expiresAt: number
}

export type TicketCheck = { ok: true; ticket: RouteTicket } | { ok: false; reason: string }

/** The ticket key: from the TURN secret, apart from the nonce key (wiring.ts) and TURN REST passwords. */
export function routeTicketKey(turnSecret: string): Buffer {
  return createHmac('sha256', turnSecret).update('pinhole/route-ticket').digest()
}

/** `base64url(JSON).base64url(HMAC-SHA256(key, first part))`. */
export function mintRouteTicket(key: Buffer, ticket: RouteTicket): string {
  const body = Buffer.from(
    JSON.stringify({
      n: ticket.nodeId,
      u: ticket.signalUrl,
      a: ticket.appKey,
      c: ticket.name,
      e: ticket.expiresAt,
    }),
  ).toString('base64url')
  return `${body}.${sign(key, body)}`
}

/** The ticket when its signature holds and it has not expired at `nowMs`. */
export function checkRouteTicket(key: Buffer, text: string, nowMs: number): TicketCheck {
  const dot = text.indexOf('.')
  if (dot <= 0) return { ok: false, reason: 'malformed route ticket' }
  const body = text.slice(0, dot)
  const given = Buffer.from(text.slice(dot + 1), 'base64url')
  const expected = Buffer.from(sign(key, body), 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'route ticket signature does not match' }
  }
  const ticket = parseBody(body)
  if (!ticket) return { ok: false, reason: 'malformed route ticket' }
  if (ticket.expiresAt <= nowMs) return { ok: false, reason: 'route ticket expired' }
  return { ok: true, ticket }
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url')
}

function parseBody(body: string): RouteTicket | undefined {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  const { n, u, a, c, e } = (value ?? {}) as Record<string, unknown>
  const strings = [n, u, a, c].every((s) => typeof s === 'string' && s.length > 0)
  if (!strings || typeof e !== 'number' || !/^wss?:\/\//.test(u as string)) return undefined
  return { nodeId: n as string, signalUrl: u as string, appKey: a as string, name: c as string, expiresAt: e }
}
