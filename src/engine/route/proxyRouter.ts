import { TransportType, type Region, type RegionChoice, type RegionProbeResult } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { Clock, EngineLogger, TransportBudgets } from '../defaults'
import type { HttpProxyConfig } from './httpProxy'
import type { ProbeOptions } from './probe'
import { requestProxySession } from './proxySessionClient'
import { AUTO_REGION, pickFailoverRegion, pickRegion, type RegionProber } from './regions'
import {
  selectTransport,
  type AllocateFn,
  type DirectConfig,
  type DirectProbe,
  type ProxyTarget,
  type TransportSelection,
} from './pathSelect'

/**
 * The route a call takes (docs/engine.md "Routes and failover"): region → proxy session → transport, at
 * the join and again before every reconnect attempt. A manager: it knows nothing of the engine; events go
 * out through the callbacks it is built with.
 *
 * Before a reconnect attempt (`reroute`), the current region's proxy is asked for a fresh session (fresh
 * TURN credentials: the old ones may have expired) and the transport is selected again with it (a probe
 * allocation: TURN works). With region `auto` the call moves to the best other region when the session
 * request fails, when the TURN probe fails, or when `failoverAfterFailures` attempts in a row failed
 * through a proxy that still passes both (its signaling relay is broken). A fixed region never moves.
 */

/** A call's route: `proxy` is undefined when media goes direct. */
export interface Route {
  proxy: ProxyTarget | undefined
  transport: TransportSelection
}

/** The route for the next attempt; `moved`: another region's proxy (the rejoin is a reDispatch). */
export interface Relocation extends Route {
  moved: boolean
}

export const ROUTER_DEFAULTS = { failoverAfterFailures: 2 } as const

export interface RouteChange {
  route: Route
  /** Another region's proxy (failover). */
  moved: boolean
}

export interface ProxyRouterDeps {
  regions: Region[]
  clock: Clock
  logger: EngineLogger
  probe?: ProbeOptions
  probeRegion?: RegionProber
  direct?: DirectConfig
  budgets?: Partial<TransportBudgets>
  allocate?: AllocateFn
  probeDirect?: DirectProbe
  /** TLS 443 (session, TURN over TLS, region TLS probes) through a corporate HTTP CONNECT proxy. */
  httpProxy?: HttpProxyConfig
  /** Failed attempts in a row through a proxy that still answers before an `auto` call moves region. */
  failoverAfterFailures?: number
  /** Probe allocations being released (the engine waits for them at leave and release). */
  track(released: Promise<unknown>): void
}

/** What one join fixed: read once at joinChannel. */
export interface RouteRequest {
  mode: TransportType
  regionChoice: RegionChoice
  token: string
  signal: AbortSignal
  /** Throws when the join is no longer current (left, timed out, replaced). */
  checkCurrent(): void
  /** Each region probe result (the engine emits `regionProbe` while the join is current). */
  onProbe(result: RegionProbeResult): void
}

export class ProxyRouter {
  constructor(private readonly deps: ProxyRouterDeps) {}

  /** The join's route: region (probed for `auto`), proxy session, transport. */
  connect(request: RouteRequest): Promise<Route> {
    return this.select(request, () => this.proxyFor(request))
  }

  /**
   * Before a reconnect attempt: a fresh session and transport on the current region, or (region `auto`)
   * the best other region when the current one cannot carry the call. Rejects when no route is found.
   */
  async reroute(request: RouteRequest, current: ProxyTarget, failures: number): Promise<RouteChange> {
    const { logger } = this.deps
    const auto = request.regionChoice === AUTO_REGION
    const limit = this.deps.failoverAfterFailures ?? ROUTER_DEFAULTS.failoverAfterFailures
    let why: unknown
    // With one region there is nowhere to move: every attempt goes back to it (it may be back by now).
    const elsewhere = this.deps.regions.some((region) => region.id !== current.region.id)
    if (auto && elsewhere && failures >= limit) {
      why = `${failures} reconnect attempts in a row failed through it`
    } else {
      try {
        // No direct try here (Auto): the call went through a proxy because direct did not work.
        const route = await this.select(request, () => this.session(request, current.region), false)
        return { route, moved: false }
      } catch (error) {
        if (!auto || request.signal.aborted || isCanceled(error)) throw error
        // No other region to move to: this region's own failure (its proxy not running, say) is the
        // answer, not "no region reachable".
        if (!elsewhere) throw error
        why = error
      }
    }
    logger.warn({ region: current.region.id, why: describe(why) }, 'region failover')
    const route = await this.select(request, () => this.proxyFor(request, current.region.id))
    return { route, moved: true }
  }

  private async select(
    request: RouteRequest,
    proxy: () => Promise<ProxyTarget>,
    direct = true,
  ): Promise<Route> {
    const { deps } = this
    let target: ProxyTarget | undefined
    const transport = await selectTransport({
      mode: request.mode,
      ...(deps.direct && direct ? { direct: deps.direct } : {}),
      ...(deps.budgets ? { budgets: deps.budgets } : {}),
      ...(deps.allocate ? { allocate: deps.allocate } : {}),
      ...(deps.probeDirect ? { probeDirect: deps.probeDirect } : {}),
      ...(deps.httpProxy ? { httpProxy: deps.httpProxy } : {}),
      signal: request.signal,
      clock: deps.clock,
      proxy: async () => (target = await proxy()),
    })
    deps.track(transport.released)
    request.checkCurrent()
    return { proxy: transport.transport === 'direct' ? undefined : target, transport }
  }

  /** The region (`auto`: probed; after a failover: the best other than `failed`), then its proxy session. */
  private async proxyFor(request: RouteRequest, failed?: string): Promise<ProxyTarget> {
    const { deps } = this
    const options = {
      ...deps.probe,
      ...(deps.httpProxy ? { httpProxy: deps.httpProxy } : {}),
      udp: request.mode !== TransportType.TCPProxy,
      signal: request.signal,
      clock: deps.clock,
      onProbe: (result: RegionProbeResult) => request.onProbe(result),
      ...(deps.probeRegion ? { probe: deps.probeRegion } : {}),
    }
    const { region } =
      failed === undefined
        ? await pickRegion(deps.regions, request.regionChoice, options)
        : await pickFailoverRegion(deps.regions, failed, options)
    request.checkCurrent()
    return this.session(request, region)
  }

  private async session(request: RouteRequest, region: Region): Promise<ProxyTarget> {
    const session = await requestProxySession(region, request.token, {
      signal: request.signal,
      clock: this.deps.clock,
      ...(this.deps.httpProxy ? { httpProxy: this.deps.httpProxy } : {}),
    })
    this.deps.logger.info({ region: region.id, elapsedMs: session.elapsedMs }, 'proxy session')
    return { region, session }
  }
}

/**
 * Whether a route differs in what `proxyConnected` is about: the region or the transport. The UDP port
 * that won the race (3478 or 7070) may flip from one attempt to the next; that alone is not reported.
 */
export function routeChanged(before: Route, after: Route): boolean {
  return (
    before.proxy?.region.id !== after.proxy?.region.id ||
    before.transport.transport !== after.transport.transport
  )
}

function isCanceled(error: unknown): boolean {
  return error instanceof EngineError && error.code === ErrorCode.JoinCanceled
}

function describe(why: unknown): string {
  if (typeof why === 'string') return why
  return why instanceof EngineError ? `${why.code} ${why.detail ?? why.message}` : String(why)
}
