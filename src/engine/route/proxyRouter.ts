import {
  TransportType,
  regionAt,
  regionHosts,
  type Region,
  type RegionChoice,
  type RegionProbeResult,
} from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import {
  ENGINE_DEFAULTS,
  type Clock,
  type EngineLogger,
  type JoinMark,
  type TransportBudgets,
} from '../defaults'
import { EarlyRelay } from './earlyRelay'
import type { HttpProxyConfig } from './httpProxy'
import { FailedHosts, planReroute } from './hostFailover'
import { probeRegion, type ProbeOptions, type RegionProbeOptions } from './probe'
import { Preconnected } from './preconnect'
import { requestProxySession } from './proxySessionClient'
import type { Prepared } from './warmSession'
import { allocateTurn } from './turnProbe'
import { AUTO_REGION, pickFailoverRegion, pickRegion, type RegionPick, type RegionProber } from './regions'
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
 *
 * A region with several proxy hosts (`proxyHosts`): the join takes the best host of its probe that
 * answers; on the same failures the call first moves to the region's next host (hostFailover.ts), and
 * only then, with `auto`, to another region. Either move is a reDispatch.
 */

/** A call's route: `proxy` is undefined when media goes direct. */
export interface Route {
  proxy: ProxyTarget | undefined
  transport: TransportSelection
}

/** The route for the next attempt; `moved`: another proxy host or region (the rejoin is a reDispatch). */
export interface Relocation extends Route {
  moved: boolean
}

export const ROUTER_DEFAULTS = { failoverAfterFailures: 2 } as const

export interface RouteChange {
  route: Route
  /** Another proxy: the region's next host, or another region (failover). */
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
  /** Failed attempts in a row through a proxy that still answers before a call moves host or region. */
  failoverAfterFailures?: number
  /** A proxy host that failed is passed over for this long (HOST_FAILOVER_DEFAULTS.cooldownMs). */
  hostCooldownMs?: number
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
  /** The join's timeline (session request and answer, transport selected). */
  mark?: JoinMark
  /**
   * A proxy session is requested from this region (host): the join connects its signaling alongside, on
   * `kept` if a prepared join kept a connection (taken if used; closed after this returns if not).
   */
  onSessionRequest?(region: Region, kept?: Preconnected): void
  /** A proxy session was granted (before its transport is selected): the join opens signaling with it. */
  onSession?(target: ProxyTarget): void
  /**
   * A fresh session kept for this join and this region's host (warm join, warmSession.ts), if any, with
   * the signaling connection and probe allocations kept beside it (warmKeep.ts).
   */
  prepared?(region: Region | undefined): Prepared | undefined
}

export class ProxyRouter {
  private readonly failedHosts: FailedHosts
  /** Requests of joins (not reconnects): their probe allocations start with the session request. */
  private readonly joins = new WeakSet<RouteRequest>()

  constructor(private readonly deps: ProxyRouterDeps) {
    this.failedHosts = new FailedHosts(deps.hostCooldownMs)
  }

  /** The join's route: region (probed for `auto`), proxy session, transport. */
  connect(request: RouteRequest): Promise<Route> {
    this.joins.add(request)
    // What a prepared join kept goes with the join, taken or not (Auto may go direct without a proxy).
    const done = (): void => void request.prepared?.(undefined)
    return this.select(request, () => this.proxyFor(request), true, true).finally(done)
  }

  /**
   * Before a reconnect attempt: a fresh session and transport on the current region, or (region `auto`)
   * the best other region when the current one cannot carry the call. Rejects when no route is found.
   */
  async reroute(request: RouteRequest, current: ProxyTarget, failures: number): Promise<RouteChange> {
    const { logger, clock } = this.deps
    const regionId = current.region.id
    const region = this.deps.regions.find((r) => r.id === regionId) ?? current.region
    const order = current.hosts ?? regionHosts(region)
    const from = current.region.proxyHost
    const plan = planReroute({
      regionId,
      order,
      current: from,
      failures,
      limit: this.deps.failoverAfterFailures ?? ROUTER_DEFAULTS.failoverAfterFailures,
      // With one region there is nowhere to move: every attempt goes back to it (it may be back by now).
      otherRegion: request.regionChoice === AUTO_REGION && this.deps.regions.some((r) => r.id !== regionId),
      failed: this.failedHosts,
      now: clock.now(),
    })
    let why: unknown = `${failures} reconnect attempts in a row failed through it`
    if (plan.retryCurrent) {
      try {
        // No direct try here (Auto): the call went through a proxy because direct did not work.
        const route = await this.select(request, () => this.session(request, region, from, order), false)
        return { route, moved: false }
      } catch (error) {
        if (request.signal.aborted || isCanceled(error)) throw error
        // Nowhere else to go: this host's own failure (its proxy not running, say) is the answer.
        if (plan.next.length === 0 && !plan.thenRegion) throw error
        why = error
      }
    }
    this.failedHosts.mark(regionId, from, clock.now())
    for (const host of plan.next) {
      logger.warn({ region: regionId, from, to: host, why: describe(why) }, 'proxy host failover')
      try {
        const route = await this.select(request, () => this.session(request, region, host, order), false)
        return { route, moved: true }
      } catch (error) {
        if (request.signal.aborted || isCanceled(error)) throw error
        this.failedHosts.mark(regionId, host, clock.now())
        why = error
      }
    }
    if (!plan.thenRegion) throw why
    logger.warn({ region: regionId, why: describe(why) }, 'region failover')
    const route = await this.select(request, () => this.proxyFor(request, regionId))
    return { route, moved: true }
  }

  /**
   * `relay`: the join's route offers the UDP probe allocation to its call (relayHandover.ts); the caller
   * discards it when the join ends. A reconnect's call may keep its PeerConnection: its probe is released.
   */
  private async select(
    request: RouteRequest,
    proxy: () => Promise<ProxyTarget>,
    direct = true,
    relay = false,
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
    }).finally(() => {
      target?.turnTls?.discard()
      if (target?.early) deps.track(target.early.discard())
    })
    deps.track(transport.released)
    if (transport.relay && !relay) deps.track(transport.relay.discard())
    try {
      request.checkCurrent()
    } catch (error) {
      if (transport.relay) deps.track(transport.relay.discard())
      throw error
    }
    if (transport.transport !== 'direct') request.mark?.('transportSelected')
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
    const pick =
      failed === undefined
        ? await pickRegion(deps.regions, request.regionChoice, options)
        : await pickFailoverRegion(deps.regions, failed, options)
    request.checkCurrent()
    return this.firstAnswering(request, pick.region, await this.hostOrder(pick, options, request))
  }

  /**
   * The region's hosts best first, the reachable ones of its probe marked: the `auto` probe's ranking, or
   * (a fixed region with several hosts) a probe of them now. One host: no probe.
   */
  private async hostOrder(
    pick: RegionPick,
    options: RegionProbeOptions,
    request: RouteRequest,
  ): Promise<{ order: string[]; reachable: string[] }> {
    const hosts = regionHosts(pick.region)
    if (hosts.length === 1) return { order: hosts, reachable: hosts }
    let result = pick.probes?.find((probe) => probe.regionId === pick.region.id)
    if (result === undefined) {
      result = await (this.deps.probeRegion ?? probeRegion)(pick.region, options)
      request.checkCurrent()
      request.onProbe(result)
    }
    const ranked = (result.hosts ?? []).map((host) => host.host).filter((host) => hosts.includes(host))
    const reachable = (result.hosts ?? []).filter((host) => host.reachable).map((host) => host.host)
    const order = [...ranked, ...hosts.filter((host) => !ranked.includes(host))]
    return { order, reachable: reachable.length > 0 ? reachable : order }
  }

  /** The session of the first host that answers, in order; the last failure when none does. */
  private async firstAnswering(
    request: RouteRequest,
    region: Region,
    { order, reachable }: { order: string[]; reachable: string[] },
  ): Promise<ProxyTarget> {
    let why: unknown
    for (const host of reachable) {
      try {
        return await this.session(request, region, host, order)
      } catch (error) {
        if (request.signal.aborted || isCanceled(error)) throw error
        this.failedHosts.mark(region.id, host, this.deps.clock.now())
        why = error
      }
    }
    throw why
  }

  /** A session on one host of `region`; the target names that host (`region.proxyHost`) and the order. */
  private async session(
    request: RouteRequest,
    full: Region,
    host: string,
    hosts: readonly string[],
  ): Promise<ProxyTarget> {
    const region = regionHosts(full).length === 1 ? full : regionAt(full, host)
    const prepared = request.prepared?.(region)
    if (!prepared) request.mark?.('sessionRequest')
    request.onSessionRequest?.(region, prepared?.signaling)
    prepared?.signaling?.discard() // not taken (an injected call opens its own)
    // TCP proxy mode: the probe allocation's TLS connection is made beside the session request (a
    // prepared join's allocation kept its own).
    const turnTls =
      request.mode === TransportType.TCPProxy && !prepared?.relay
        ? Preconnected.start(region, ['stun.turn'], {
            timeoutMs: this.deps.budgets?.tlsMs ?? ENGINE_DEFAULTS.budgets.tlsMs,
            signal: request.signal,
            clock: this.deps.clock,
            ...(this.deps.httpProxy ? { httpProxy: this.deps.httpProxy } : {}),
          })
        : undefined
    // A join's probe allocations start now, on the token's credentials (earlyRelay.ts); a warm session's
    // credentials, realm and nonce are there already, and a reconnect's probe is released anyway.
    const early = prepared
      ? prepared.relay
      : !this.joins.has(request)
        ? undefined
        : EarlyRelay.start({
            region,
            mode: request.mode,
            token: request.token,
            allocate: this.deps.allocate ?? allocateTurn,
            signal: request.signal,
            clock: this.deps.clock,
            ...(this.deps.budgets ? { budgets: this.deps.budgets } : {}),
            ...(turnTls ? { turnTls } : {}),
            ...(this.deps.httpProxy ? { httpProxy: this.deps.httpProxy } : {}),
          })
    const session =
      prepared?.session ??
      (await requestProxySession(region, request.token, {
        signal: request.signal,
        clock: this.deps.clock,
        ...(this.deps.httpProxy ? { httpProxy: this.deps.httpProxy } : {}),
      }).catch((error: unknown) => {
        turnTls?.discard()
        if (early) this.deps.track(early.discard())
        throw error
      }))
    if (!prepared) request.mark?.('sessionAnswer')
    this.deps.logger.info({ region: region.id, host, elapsedMs: session.elapsedMs }, 'proxy session')
    const target: ProxyTarget = hosts.length === 1 ? { region, session } : { region, session, hosts }
    if (turnTls) target.turnTls = turnTls
    if (early) target.early = early
    request.onSession?.(target)
    return target
  }
}

/**
 * Whether a route differs in what `proxyConnected` is about: the region, its proxy host or the transport. The UDP port
 * that won the race (3478 or 7070) may flip from one attempt to the next; that alone is not reported.
 */
export function routeChanged(before: Route, after: Route): boolean {
  return (
    before.proxy?.region.id !== after.proxy?.region.id ||
    before.proxy?.region.proxyHost !== after.proxy?.region.proxyHost ||
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
