import type { HostProbeResult } from '../../shared/engine'

/**
 * Several proxies per region (docs/engine.md "Several proxies per region"): which host of a region a call
 * takes and in what order it tries the others when that one fails. Pure: the router (proxyRouter.ts) asks,
 * then does the session requests itself; the time is the caller's clock.
 */

export const HOST_FAILOVER_DEFAULTS = {
  /**
   * A host that failed is passed over for this long. Long enough that two broken hosts do not hand a call
   * back and forth (it moves region instead), short enough that a restarted proxy gets calls again.
   */
  cooldownMs: 60_000,
} as const

/**
 * The hosts best first: the reachable ones by round trip (ties keep the configured order), then the
 * unreachable ones in the configured order.
 */
export function rankHosts(results: readonly HostProbeResult[]): HostProbeResult[] {
  const reachable = results
    .map((result, index) => ({ result, index }))
    .filter(({ result }) => result.reachable)
    .sort((a, b) => (a.result.rttMs ?? Infinity) - (b.result.rttMs ?? Infinity) || a.index - b.index)
    .map(({ result }) => result)
  return [...reachable, ...results.filter((result) => !result.reachable)]
}

/** When each host (of any region: `regionId host`) last failed a call. */
export class FailedHosts {
  private readonly at = new Map<string, number>()

  constructor(private readonly cooldownMs: number = HOST_FAILOVER_DEFAULTS.cooldownMs) {}

  mark(regionId: string, host: string, now: number): void {
    this.at.set(`${regionId} ${host}`, now)
  }

  /** Failed less than the cooldown ago. */
  cooling(regionId: string, host: string, now: number): boolean {
    const at = this.at.get(`${regionId} ${host}`)
    return at !== undefined && now - at < this.cooldownMs
  }

  clear(): void {
    this.at.clear()
  }
}

export interface RerouteInput {
  regionId: string
  /** The region's hosts in the call's order (the probe's ranking at the join, else the configured order). */
  order: readonly string[]
  /** The host the call went through. */
  current: string
  /** Reconnect attempts failed in a row through `current` (since the route last changed). */
  failures: number
  /** After this many, `current` is taken as broken even though it still answers (its signaling relay). */
  limit: number
  /** Region `auto` with another region configured: the call may move region when no host is left. */
  otherRegion: boolean
  failed: FailedHosts
  now: number
}

export interface ReroutePlan {
  /** First a fresh session on the current host; false: it is passed over (marked failed by the caller). */
  retryCurrent: boolean
  /** Then, when that fails or is passed over, these hosts of the same region, in this order. */
  next: string[]
  /** Then (none of them worked) another region. */
  thenRegion: boolean
}

/**
 * The order of a reconnect attempt's route: the current host again while it has failed fewer than `limit`
 * attempts, then the other hosts of the region not failed within the cooldown (best first), then another
 * region when `auto` allows one. A region with no other host and nowhere to move keeps trying its host.
 */
export function planReroute(input: RerouteInput): ReroutePlan {
  const { regionId, current, failed, now } = input
  const next = input.order.filter((host) => host !== current && !failed.cooling(regionId, host, now))
  const elsewhere = next.length > 0 || input.otherRegion
  return {
    retryCurrent: !(elsewhere && input.failures >= input.limit),
    next,
    thenRegion: input.otherRegion,
  }
}
