import type { CreateEngineOptions, DirectConfig, Engine, EngineLogger, RegionProber } from '../../engine'
import type { Region } from '../../shared/engine'
import type { PolicyLoad } from '../settings/policy'
import type { DiagnosticsOptions } from '../checks/diagnosticsExport'
import type { LocalStack, LocalStackInfo } from '../stack/localStack'
import type { MediaPortLike } from '../mediaBridge'
import type { NetworkCheckOptions } from '../checks/networkCheck'
import type { UserSettings } from '../settings/settings'
import type { ShareSource } from '../../shared/shareSources'
import type { SettingsNote } from '../../shared/settingsNotes'

/** What a host with its own screen-share picker provides (`listShareSources`, `chooseShareSource`). */
export interface ShareSourceHost {
  list(): Promise<ShareSource[]>
  /** Remembers a listed id for the page's next getDisplayMedia (null: none); 0, or throws a 414. */
  choose(id: string | null): number
}

/** What `createAppCore` takes (appCore.ts re-exports it), and the state its modules share. */

export interface AppCoreOptions {
  /** Where settings.json lives (Electron: userData). Created when missing. */
  dataDir: string
  /** Regions from configuration; none (and no policy regions) → the embedded local stack. */
  regions?: readonly Region[]
  /** The conference server for proxy mode None with configured regions. */
  direct?: DirectConfig
  /**
   * The IT policy as src/app/settings/policy.ts loaded it (`loadPolicy()`); it wins over the user's settings
   * through `effectiveSettings`. Absent: no policy.
   */
  policy?: PolicyLoad
  /**
   * The embedded stack, shared by every core of the host process (see `sharedLocalStack`); called again
   * when the stack in use (another instance's) has gone. Default: this core acquires one itself
   * (stack/discovery.ts) and closes it with itself.
   */
  localStack?: () => Promise<LocalStack>
  /** `connectMedia`: make a channel, post one end to the page, return the other. Absent → InvalidState. */
  openMediaPort?: () => MediaPortLike | Promise<MediaPortLike>
  /**
   * The app's own screen-share picker (Electron: desktopCapturer, src/main/sharePicker.ts). Absent (the
   * browser host): `listShareSources` lists none and the browser's own picker is used.
   */
  shareSources?: ShareSourceHost
  logger?: EngineLogger
  /** The OS locale (Electron `app.getLocale()`): the language when the user has chosen none. */
  systemLocale?: string
  /** "Export diagnostics": folder, log files, versions (diagnosticsExport.ts). */
  diagnostics?: DiagnosticsOptions
  /** "Network check" seams (tests: a stand-in doctor, shorter probe timeouts). */
  networkCheck?: Pick<NetworkCheckOptions, 'doctor' | 'probe'>
  /** Extra engine options (tests: budgets, timeouts). */
  engine?: Partial<CreateEngineOptions>
  /** Test seams. */
  createEngine?: (options: CreateEngineOptions) => Engine
  probeRegion?: RegionProber
  stackAnswers?: (info: LocalStackInfo) => Promise<boolean>
}

/** One core's state, shared by appCore.ts, coreSettings.ts and coreEngine.ts. */
export interface CoreParts {
  options: AppCoreOptions
  logger: EngineLogger
  stack: LocalStack | undefined
  ownsStack: boolean
  policy: PolicyLoad
  configured: Region[]
  /** Configured regions plus the embedded stack's: the "user" regions the policy may add to or replace. */
  ownRegions: Region[]
  user: UserSettings
  notices: SettingsNote[]
}
