import { decodeJwt } from 'jose'
import type { RawData } from 'ws'
import type { ChannelRef } from '../../shared/cluster'
import { checkRouteTicket, ROUTE_PARAM } from './routeTicket'

/**
 * Where the signal relay (signalRelay.ts) sends one client's WebSocket. Without a cluster: the configured
 * upstream, always. With one (docs/proxy.md "Routing to conference nodes"): the node named by the route
 * ticket in the URL; a connection without a valid ticket is refused, so that no client puts a channel on a
 * node the placement did not choose.
 */

export interface RouteChoice {
  target: URL
  /**
   * Checks a client text message sent before the node's `joined`: a reason to refuse the join, or
   * undefined. The ticket is for one channel of one app; the join must be for that same channel.
   */
  joinCheck?: (text: string) => string | undefined
  /** The node could not be dialed, or its connection was lost. */
  unreachable?: () => void
}

export type SignalRouter = (requestUrl: string | undefined) => RouteChoice | { refused: string }

export interface TicketRouterOptions {
  key: Buffer
  now?: () => number
  /** ChannelPlacement.unreachable: placement may skip the node until it heart-beats again. */
  unreachable?: (nodeId: string) => void
}

/** Every connection to the one configured upstream (no cluster); throws on a missing or non-ws:// URL. */
export function createUpstreamRouter(upstreamUrl: string | undefined): SignalRouter {
  if (upstreamUrl === undefined) throw new Error('signal relay: an upstreamUrl or a router is required')
  const base = new URL(upstreamUrl)
  if (base.protocol !== 'ws:' && base.protocol !== 'wss:') {
    throw new Error(`signal relay: upstreamUrl must be ws:// or wss:// (got ${upstreamUrl})`)
  }
  return (url) => ({ target: upstreamTarget(base, url) })
}

export function createTicketRouter(options: TicketRouterOptions): SignalRouter {
  const now = options.now ?? Date.now
  return (requestUrl) => {
    const url = new URL(requestUrl ?? '/', 'http://relay.invalid')
    const text = url.searchParams.get(ROUTE_PARAM)
    if (text === null) return { refused: 'a route ticket is required (take a fresh proxy session)' }
    const check = checkRouteTicket(options.key, text, now())
    if (!check.ok) return { refused: check.reason }
    const { ticket } = check
    url.searchParams.delete(ROUTE_PARAM)
    return {
      target: upstreamTarget(new URL(ticket.signalUrl), url.search),
      joinCheck: (message) => joinMismatch(ticket, message),
      unreachable: () => options.unreachable?.(ticket.nodeId),
    }
  }
}

/**
 * The node verifies the token and that it is for the joined channel; the relay checks the rest: that the
 * join is for the channel and app the connection was routed for (a ticket's, or the join that came with
 * the upgrade: signalJoin.ts). The token's unverified appKey claim is enough: a token whose claim lies fails
 * the node's signature check.
 */
export function joinMismatch(ticket: ChannelRef, text: string): string | undefined {
  let message: { type?: unknown; channel?: unknown; token?: unknown }
  try {
    message = JSON.parse(text) as typeof message
  } catch {
    return undefined // not JSON: the node answers bad_json
  }
  if (message?.type !== 'join') return undefined
  if (message.channel !== ticket.name) return 'the route ticket is for another channel'
  let appKey: unknown
  try {
    appKey = typeof message.token === 'string' ? decodeJwt(message.token).appKey : undefined
  } catch {
    return undefined // malformed: the node answers token_malformed
  }
  return appKey === ticket.appKey ? undefined : 'the route ticket is for another app'
}

/** `base` plus the client's query string (appended to any query `base` has). */
export function upstreamTarget(base: URL, requestUrl: string | undefined): URL {
  const target = new URL(base.href)
  const q = requestUrl?.indexOf('?') ?? -1
  const query = q === -1 || requestUrl === undefined ? '' : requestUrl.slice(q + 1)
  if (query) target.search = target.search ? `${target.search}&${query}` : `?${query}`
  return target
}

export function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  return Buffer.from(data).toString('utf8')
}
