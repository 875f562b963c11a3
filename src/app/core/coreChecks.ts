import { type EngineLogger, probeRegion as defaultProbeRegion } from '../../engine'
import type { RegionProbeResult } from '../../shared/engine'
import type { AppSettings } from '../../shared/ipc'
import type { NetworkCheckReport } from '../../shared/networkCheck'
import type { EffectiveSettings, PolicyLoad } from '../settings/policy'
import type { AppCoreOptions } from './coreOptions'
import { exportDiagnostics } from '../checks/diagnosticsExport'
import { runNetworkCheck } from '../checks/networkCheck'

/**
 * The app core's checks (issue 6): "Network check" (one run at a time, the last report kept), the region
 * probes, and "Export diagnostics" with that last report. It does not hold the engine: the settings in
 * force, the page's settings, the secrets and the probe event come in as callbacks.
 */

export interface CoreChecksDeps {
  options: AppCoreOptions
  logger: EngineLogger
  policy: PolicyLoad
  effective: () => EffectiveSettings
  settings: () => AppSettings
  /** Every secret to remove from an export (join tokens, the embedded stack's app secret). */
  secrets: () => readonly string[]
  /** Each region probe result, as it comes (the `regionProbe` event). */
  onRegionProbe: (result: RegionProbeResult) => void
}

export class CoreChecks {
  /** The last network check (for the diagnostics export) and the one under way (shared by callers). */
  private lastCheck: NetworkCheckReport | undefined
  private checking: Promise<NetworkCheckReport> | undefined

  constructor(private readonly deps: CoreChecksDeps) {}

  /** At most one check at a time: a second click while one runs gets the same report. */
  runNetworkCheck(): Promise<NetworkCheckReport> {
    this.checking ??= (async () => {
      const { regions, httpProxy } = this.deps.effective()
      try {
        const report = await runNetworkCheck(regions, {
          ...this.deps.options.networkCheck,
          ...(httpProxy ? { httpProxy } : {}),
        })
        this.lastCheck = report
        this.deps.logger.info({ ok: report.ok, summary: report.summary }, 'network check')
        return report
      } finally {
        this.checking = undefined
      }
    })()
    return this.checking
  }

  probeRegions(): Promise<RegionProbeResult[]> {
    const probe = this.deps.options.probeRegion ?? defaultProbeRegion
    const { regions, httpProxy } = this.deps.effective()
    return Promise.all(
      regions.map(async (region) => {
        const result = await probe(region, httpProxy ? { httpProxy } : {})
        this.deps.onRegionProbe(result)
        return result
      }),
    )
  }

  /** Writes the diagnostics file and returns its path. */
  exportDiagnostics(): string {
    const { options, policy, logger } = this.deps
    const path = exportDiagnostics({
      dataDir: options.dataDir,
      options: options.diagnostics,
      settings: this.deps.settings(),
      effective: this.deps.effective(),
      policy,
      lastCheck: this.lastCheck,
      secrets: this.deps.secrets(),
    })
    logger.info({ path }, 'diagnostics exported')
    return path
  }
}
