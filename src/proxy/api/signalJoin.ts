import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { JOIN_HEADER } from '../../protocol/auth/joinHeader'
import { verifyJoinRequest } from '../../protocol/auth/joinRequest'
import { JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../protocol/auth/joinToken'
import { ClusterErrorCode, PlacementError, type ChannelPlacement } from '../../shared/cluster'
import type { JoinMessage } from '../../shared/signaling'
import type { AppCredentials } from './proxySessionRoute'
import { ROUTE_PARAM } from './routeTicket'
import type { UpgradeJoin } from './signalPair'
import { joinMismatch, upstreamTarget, type RouteChoice } from './signalRoute'

/**
 * Where a signaling connection goes when its `join` came with the upgrade (the `Pinhole-Join` header,
 * src/shared/joinHeader.ts; docs/proxy.md "Join with the upgrade", issue 15): the relay checks the join
 * against its token exactly as the session API checks the token (the app's secret, expiry, claims) and as
 * the conference server checks a join (uid > 0, the token's channel and uid), with the same codes, and only
 * then places the channel — through the same ChannelPlacement the session API uses — or, without a
 * cluster, takes the configured upstream. So the engine can open its signaling connection beside the
 * session request instead of waiting for the session's route ticket, and nobody reaches a conference node
 * with a join the proxy would not have given a session for.
 *
 * A route ticket in the same URL is ignored (and not passed on): the verified join decides where it goes.
 */

export interface JoinRouterOptions {
  apps: readonly AppCredentials[]
  /** The region's conference nodes; without it, `upstreamUrl`. */
  placement?: ChannelPlacement
  upstreamUrl?: string
  clockToleranceSeconds?: number
  now?: () => number
}

export interface JoinRefusal {
  /** HTTP status line of the refused upgrade. */
  status: string
  /** The session API's error code for the same cause (or the conference server's for the join's own fields). */
  code: string
  message: string
}

export type JoinRouter = (
  join: JoinMessage,
  requestUrl: string | undefined,
) => Promise<RouteChoice | JoinRefusal>

export function createJoinRouter(options: JoinRouterOptions): JoinRouter {
  const secrets = new Map(options.apps.map((app) => [app.appKey, app.secret]))
  const now = options.now ?? Date.now
  const { placement } = options
  const base = options.upstreamUrl === undefined ? undefined : new URL(options.upstreamUrl)
  if (!placement && !base) throw new Error('signal relay: joins need an upstreamUrl or a placement')

  return async (join, requestUrl) => {
    const verdict = await verifyJoinRequest(join, {
      secretFor: (appKey) => secrets.get(appKey),
      now,
      clockToleranceSeconds: options.clockToleranceSeconds ?? JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
    })
    if (!verdict.ok) {
      const status = verdict.code === 'uid_invalid' ? '400 Bad Request' : '401 Unauthorized'
      return { status, code: verdict.code, message: verdict.message }
    }
    const channel = { appKey: verdict.claims.appKey, name: verdict.claims.channel }
    const query = withoutRoute(requestUrl)
    if (!placement) return { target: upstreamTarget(base!, query) }
    let node
    try {
      node = await placement.place(channel)
    } catch (error) {
      // As the session API: anything else placement throws is still the cluster store failing.
      const code = error instanceof PlacementError ? error.code : ClusterErrorCode.Unavailable
      const message = error instanceof Error ? error.message : String(error)
      return { status: '503 Service Unavailable', code, message: `channel placement failed: ${message}` }
    }
    return {
      target: upstreamTarget(new URL(node.signalUrl), query),
      joinCheck: (text) => joinMismatch(channel, text),
      unreachable: () => placement.unreachable?.(node.nodeId),
    }
  }
}

function isRefusal(route: RouteChoice | JoinRefusal): route is JoinRefusal {
  return 'status' in route
}

/**
 * The relay's side: verifies and routes the upgrade's join (after the connection was admitted), then
 * either refuses the upgrade with the session API's error body or `upgrade`s with the route and the join
 * to pass on. A client gone meanwhile, or a relay closed, ends it there.
 */
export function routeUpgradeJoin(
  router: JoinRouter,
  header: { join: JoinMessage; text: string },
  req: IncomingMessage,
  socket: Duplex,
  on: {
    gone(): boolean
    refused(event: 'signal_join_refused' | 'signal_placement_failed'): void
    upgrade(choice: RouteChoice, join: UpgradeJoin): void
  },
): void {
  const value = req.headers[JOIN_HEADER] as string
  router(header.join, req.url).then(
    (choice) => {
      if (socket.destroyed || on.gone()) return void socket.destroy()
      if (!isRefusal(choice)) return on.upgrade(choice, { header: value, text: header.text })
      on.refused(choice.status.startsWith('503') ? 'signal_placement_failed' : 'signal_join_refused')
      refuseUpgradeJson(socket, choice)
    },
    () => socket.destroy(),
  )
}

/** The request URL with any route ticket taken out: only the rest of the query passes through. */
function withoutRoute(requestUrl: string | undefined): string {
  const url = new URL(requestUrl ?? '/', 'http://relay.invalid')
  url.searchParams.delete(ROUTE_PARAM)
  return `${url.pathname}${url.search}`
}

/** The session API's error body (`{"error": {code, message}}`) on a refused upgrade. */
export function refuseUpgradeJson(socket: Duplex, refusal: JoinRefusal): void {
  const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } })
  const head = `HTTP/1.1 ${refusal.status}\r\nConnection: close\r\nContent-Type: application/json\r\n`
  socket.end(`${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => socket.destroy())
}
