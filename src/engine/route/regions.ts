import { RegionSchema, type Region, type RegionChoice, type RegionProbeResult } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { probeRegion, type RegionProbeOptions } from './probe'

/**
 * Regions (docs/architecture.md "Regions"): one proxy address per region with its whitelisted ports and
 * pinned certificate. `auto` probes every region and takes the lowest round trip among the reachable ones.
 */

export const AUTO_REGION = 'auto'

/** Validates a region list (settings, IT policy); throws with the field named. Ids must be unique. */
export function parseRegions(input: unknown): Region[] {
  const regions = RegionSchema.array().parse(input)
  const seen = new Set<string>()
  for (const region of regions) {
    if (region.id === AUTO_REGION) throw new RangeError(`region id '${AUTO_REGION}' is reserved`)
    if (seen.has(region.id)) throw new RangeError(`duplicate region id '${region.id}'`)
    seen.add(region.id)
  }
  return regions
}

export function findRegion(regions: readonly Region[], id: string): Region {
  const region = regions.find((r) => r.id === id)
  if (!region)
    throw new EngineError(
      ErrorCode.RegionUnknown,
      `'${id}' is not one of ${regions.map((r) => r.id).join(', ')}`,
    )
  return region
}

export type RegionProber = (region: Region, options: RegionProbeOptions) => Promise<RegionProbeResult>

export interface PickRegionOptions extends RegionProbeOptions {
  /** Called with each region's result as it completes (the engine emits `regionProbe`). */
  onProbe?: (result: RegionProbeResult) => void
  /** Injectable for tests; default probeRegion. */
  probe?: RegionProber
}

export interface RegionPick {
  region: Region
  /** Present when the choice was `auto`. */
  probes?: RegionProbeResult[]
}

/** Lowest rttMs among reachable results; ties keep configuration order. Undefined when none reachable. */
export function bestRegion(results: readonly RegionProbeResult[]): RegionProbeResult | undefined {
  let best: RegionProbeResult | undefined
  for (const result of results) {
    if (!result.reachable) continue
    if (!best || (result.rttMs ?? Infinity) < (best.rttMs ?? Infinity)) best = result
  }
  return best
}

export async function pickRegion(
  regions: readonly Region[],
  choice: RegionChoice,
  options: PickRegionOptions = {},
): Promise<RegionPick> {
  if (regions.length === 0) throw new EngineError(ErrorCode.NoRegions)
  if (choice !== AUTO_REGION) return { region: findRegion(regions, choice) }
  const probe = options.probe ?? probeRegion
  const probes = await Promise.all(
    regions.map(async (region) => {
      const result = await probe(region, options)
      options.onProbe?.(result)
      return result
    }),
  )
  if (options.signal?.aborted) throw new EngineError(ErrorCode.JoinCanceled, 'region probe')
  const best = bestRegion(probes)
  if (!best) throw noRegionReachable(probes)
  return { region: findRegion(regions, best.regionId), probes }
}

/**
 * Why no region answered, from each one's TLS check. When none of them is silent (blocked) but each was
 * refused or did not resolve, no firewall rule is missing: the first region's own code says what is
 * (the proxy is not running, or its name is wrong); otherwise NoRegionReachable.
 */
function noRegionReachable(probes: readonly RegionProbeResult[]): EngineError {
  const tls = probes.map((p) => p.checks.find((c) => c.endpoint === 'tls'))
  const detail = probes.map((p, i) => `${p.regionId}: ${tls[i]?.detail}`).join('; ')
  const notFirewall = tls.every((c) => c?.status === 'refused' || c?.status === 'unresolved')
  const code = notFirewall ? tls[0]?.errorCode : undefined
  return new EngineError(code ?? ErrorCode.NoRegionReachable, detail)
}

/**
 * Region failover: the best of the regions other than `failedId` (probing them, as `auto` does), for when
 * that region's proxy stopped answering. NoRegionReachable when there is no other region or none answers.
 */
export function pickFailoverRegion(
  regions: readonly Region[],
  failedId: string,
  options: PickRegionOptions = {},
): Promise<RegionPick> {
  const others = regions.filter((region) => region.id !== failedId)
  if (others.length === 0) {
    return Promise.reject(new EngineError(ErrorCode.NoRegionReachable, `no region besides '${failedId}'`))
  }
  return pickRegion(others, AUTO_REGION, options)
}
