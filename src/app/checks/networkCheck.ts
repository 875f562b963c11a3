import {
  describeHttpProxy,
  type DoctorRow,
  type HttpProxyConfig,
  type ProbeOptions,
  runDoctor,
} from '../../engine'
import { regionHosts, type Region } from '../../shared/engine'
import {
  networkCheckSummary,
  withRules,
  type NetworkCheckRegion,
  type NetworkCheckReport,
} from '../../shared/networkCheck'

/**
 * The app's "Network check" (issue 6): the engine's doctor (`runDoctor`, what `pinhole doctor` runs) for
 * every region in force, one region after another as the CLI does (concurrent regions would share this
 * desktop's uplink and skew each other's round trips). TLS 443 and the session API go through the policy's
 * corporate HTTP proxy when it sets one, exactly as calls would. Rules come from src/shared/networkCheck.ts.
 */

export type DoctorFn = (region: Region, options: ProbeOptions) => Promise<DoctorRow[]>

export interface NetworkCheckOptions {
  httpProxy?: HttpProxyConfig
  /** Test seam; default the engine's runDoctor. */
  doctor?: DoctorFn
  /** Extra probe options (tests: shorter timeouts). */
  probe?: ProbeOptions
  now?: () => number
}

export async function runNetworkCheck(
  regions: readonly Region[],
  options: NetworkCheckOptions = {},
): Promise<NetworkCheckReport> {
  const now = options.now ?? Date.now
  const started = now()
  const doctor = options.doctor ?? runDoctor
  const httpProxy = options.httpProxy ? describeHttpProxy(options.httpProxy) : undefined
  const probe: ProbeOptions = {
    ...options.probe,
    ...(options.httpProxy ? { httpProxy: options.httpProxy } : {}),
  }
  const checked: NetworkCheckRegion[] = []
  for (const region of regions) {
    const checks = await doctor(region, probe)
    const rows = withRules(checks, {
      proxyHost: region.proxyHost,
      ...(httpProxy !== undefined ? { httpProxy } : {}),
    })
    const ok = rows.every((row) => row.status === 'reachable')
    const hosts = regionHosts(region)
    checked.push({
      id: region.id,
      name: region.name,
      proxyHost: region.proxyHost,
      // Several proxies: the doctor checked each of them (their rows one host after another).
      ...(hosts.length > 1 ? { proxyHosts: hosts } : {}),
      ok,
      rows,
    })
  }
  const report: NetworkCheckReport = {
    startedAt: new Date(started).toISOString(),
    durationMs: now() - started,
    ok: checked.every((region) => region.ok),
    regions: checked,
    summary: networkCheckSummary(checked),
  }
  if (httpProxy !== undefined) report.httpProxy = httpProxy
  return report
}
