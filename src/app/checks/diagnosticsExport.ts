import { join } from 'node:path'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { AppSettings } from '../../shared/ipc'
import type { NetworkCheckReport } from '../../shared/networkCheck'
import { writeDiagnostics, type DiagnosticsVersions } from './diagnostics'
import type { EffectiveSettings, PolicyLoad } from '../settings/policy'

/**
 * "Export diagnostics" from the app core (issue 6): one redacted file (src/app/checks/diagnostics.ts) in the
 * diagnostics folder, with the logs, versions, the settings in force and the policy, and the last network
 * check. The core hands over every secret it knows (the join tokens it saw, the embedded stack's app
 * secret, the HTTP proxy password) so that they are removed wherever they appear, log lines included.
 */

export interface DiagnosticsOptions {
  /** Where bundles go; default `<dataDir>/diagnostics`. */
  dir?: string
  /** The app's log files, newest first (listLogFiles / RotatingFile.files()). */
  logFiles?: () => readonly string[]
  /** App, Electron, Chrome versions (Node's is added). Default: app "development". */
  versions?: DiagnosticsVersions
  /** More secrets the host knows of (removed by value). */
  secrets?: () => readonly string[]
}

export interface ExportInput {
  dataDir: string
  options: DiagnosticsOptions | undefined
  settings: AppSettings
  effective: EffectiveSettings
  policy: PolicyLoad
  lastCheck: NetworkCheckReport | undefined
  secrets: readonly string[]
}

export function diagnosticsDir(dataDir: string, options: DiagnosticsOptions | undefined): string {
  return options?.dir ?? join(dataDir, 'diagnostics')
}

/** Writes the bundle and returns its path; a folder that cannot be written is Internal with the reason. */
export function exportDiagnostics(input: ExportInput): string {
  const { options, effective } = input
  const dir = diagnosticsDir(input.dataDir, options)
  const secrets = [...input.secrets, ...(options?.secrets?.() ?? [])]
  if (effective.httpProxy?.password) secrets.push(effective.httpProxy.password)
  try {
    return writeDiagnostics(
      {
        versions: options?.versions ?? { app: 'development' },
        settings: { app: input.settings, effective: settingsForBundle(effective) },
        policy: input.policy,
        networkChecks: input.lastCheck ?? null,
        logFiles: options?.logFiles?.() ?? [],
        secrets,
      },
      dir,
    )
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    throw new EngineError(ErrorCode.Internal, `could not write the diagnostics file in ${dir}: ${why}`, {
      cause: error,
    })
  }
}

/** The effective settings without the region certificates' PEM (long, public, and of no use in a ticket). */
function settingsForBundle(effective: EffectiveSettings): unknown {
  return {
    ...effective,
    regions: effective.regions.map(({ caPem, ...region }) => ({
      ...region,
      ...(caPem !== undefined ? { caPem: `(a CA certificate, ${caPem.length} characters)` } : {}),
    })),
  }
}
