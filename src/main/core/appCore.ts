import {
  createEngine as defaultCreateEngine,
  type CreateEngineOptions,
  type Engine,
} from '../../engine/engine'
import { silentLogger, type EngineLogger } from '../../engine/defaults'
import type { DirectConfig } from '../../engine/direct'
import { probeRegion as defaultProbeRegion } from '../../engine/probe'
import type { RegionProber } from '../../engine/regions'
import { ConnectionState, type Region, type RegionProbeResult } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { AppSettings, IpcEventName, IpcEvents, RegionView } from '../../shared/ipc'
import type { NetworkCheckReport } from '../../shared/networkCheck'
import { effectiveSettings, type EffectiveSettings, type PolicyLoad } from '../policy'
import { exportDiagnostics, type DiagnosticsOptions } from './diagnosticsExport'
import { dispatch, type Implementations, type Invoker } from './dispatch'
import { acquireLocalStack, stackAnswers } from './discovery'
import { EngineSlot } from './engineSlot'
import type { LocalStack, LocalStackInfo } from './localStack'
import { attachMediaBridge, type MediaBridge, type MediaBridgeStats, type MediaPortLike } from './mediaBridge'
import { runNetworkCheck, type NetworkCheckOptions } from './networkCheck'
import { loadSettings, saveSettings, type UserSettings } from './settings'

/**
 * The host-neutral app core (docs/app.md): one per window (Electron) or per connected page (browser host).
 * It owns one engine, the user's settings in `dataDir`, the region list (configuration, IT policy, or the
 * embedded local stack) and the media bridge, and implements every channel of the IPC contract. It imports
 * no Electron: the hosts wire `invoke`, `on` and `openMediaPort` to their transport.
 */

export interface AppCoreOptions {
  /** Where settings.json lives (Electron: userData). Created when missing. */
  dataDir: string
  /** Regions from configuration; none (and no policy regions) → the embedded local stack. */
  regions?: readonly Region[]
  /** The conference server for proxy mode None with configured regions. */
  direct?: DirectConfig
  /**
   * The IT policy as src/main/policy.ts loaded it (`loadPolicy()`); it wins over the user's settings
   * through `effectiveSettings`. Absent: no policy.
   */
  policy?: PolicyLoad
  /**
   * The embedded stack, shared by every core of the host process (see `sharedLocalStack`); called again
   * when the stack in use (another instance's) has gone. Default: this core acquires one itself
   * (discovery.ts) and closes it with itself.
   */
  localStack?: () => Promise<LocalStack>
  /** `connectMedia`: make a channel, post one end to the page, return the other. Absent → InvalidState. */
  openMediaPort?: () => MediaPortLike | Promise<MediaPortLike>
  logger?: EngineLogger
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

export interface AppCore {
  /** One contract call with raw (unvalidated) arguments → the reply the page gets. */
  invoke: Invoker
  /** Contract events (engine events without the media frames); returns the unsubscribe. */
  on<E extends IpcEventName>(event: E, listener: (...args: IpcEvents[E]) => void): () => void
  /** Bridges a media port to the engine (replacing the previous one); `connectMedia` does this. */
  attachMedia(port: MediaPortLike): MediaBridge
  mediaStats(): MediaBridgeStats | undefined
  settings(): AppSettings
  /** Leaves, releases the engine, closes the media port (and the stack if this core acquired it). */
  close(): Promise<void>
}

const NO_POLICY: PolicyLoad = { status: 'none', path: '(none)' }

interface CoreParts {
  options: AppCoreOptions
  logger: EngineLogger
  stack: LocalStack | undefined
  ownsStack: boolean
  policy: PolicyLoad
  configured: Region[]
  /** Configured regions plus the embedded stack's: the "user" regions the policy may add to or replace. */
  ownRegions: Region[]
  user: UserSettings
  notices: string[]
}

export async function createAppCore(options: AppCoreOptions): Promise<AppCore> {
  const logger = options.logger ?? silentLogger
  const policy = options.policy ?? NO_POLICY
  const loaded = loadSettings(options.dataDir)
  if (loaded.warning) logger.warn({ dataDir: options.dataDir }, loaded.warning)
  const user = loaded.settings
  const configured = [...(options.regions ?? [])]
  const before = effectiveSettings({ ...user, regions: configured }, policy)
  const notices: string[] = []

  // The embedded local stack: only with no region at all, and only if the policy allows it.
  let stack: LocalStack | undefined
  if (before.regions.length === 0 && before.allowEmbeddedStack) {
    try {
      stack = await (options.localStack ?? (() => acquireLocalStack({ logger })))()
    } catch (error) {
      logger.error({ err: error }, 'the embedded local stack did not start')
      const why = error instanceof Error ? error.message : String(error)
      notices.push(`The local test stack did not start: ${why}.`)
    }
  } else if (before.regions.length === 0 && before.canCall) {
    notices.push('No region is configured and the IT policy does not allow the local test stack.')
  }
  const parts: CoreParts = {
    options,
    logger,
    stack,
    ownsStack: stack !== undefined && options.localStack === undefined,
    policy,
    configured,
    ownRegions: stack ? [...configured, stack.info.region] : configured,
    user,
    notices,
  }
  return new Core(parts, buildEngine(parts))
}

/** A new engine for the regions in force (with the embedded stack's direct path and app key). */
function buildEngine(parts: CoreParts): Engine {
  const { options, logger, stack, user, ownRegions, policy } = parts
  const effective = effectiveSettings({ ...user, regions: ownRegions }, policy)
  const direct = stack ? stack.direct : options.direct
  const engine = (options.createEngine ?? defaultCreateEngine)({
    regions: [...effective.regions],
    logger,
    ...(stack ? { appKey: stack.info.appKey } : {}),
    ...(direct ? { direct } : {}),
    // The policy's corporate HTTP CONNECT proxy for the TLS 443 traffic (issue 6).
    ...(effective.httpProxy ? { httpProxy: effective.httpProxy } : {}),
    ...options.engine,
  })
  engine.setCloudProxy(effective.cloudProxy)
  engine.setRegion(effective.region)
  return engine
}

class Core implements AppCore {
  readonly invoke: Invoker
  private readonly slot: EngineSlot
  private readonly impl: Implementations
  private bridge: MediaBridge | undefined
  private closing: Promise<void> | undefined
  /** The last network check (for the diagnostics export) and the one under way (shared by callers). */
  private lastCheck: NetworkCheckReport | undefined
  private checking: Promise<NetworkCheckReport> | undefined
  /** Join tokens this core has seen or minted: removed by value from a diagnostics export. */
  private readonly tokens = new Set<string>()

  constructor(
    private readonly parts: CoreParts,
    engine: Engine,
  ) {
    this.slot = new EngineSlot(engine)
    this.impl = this.implementations()
    this.invoke = (name, raw) => {
      if (this.closing) {
        return Promise.resolve({ ok: false, error: new EngineError(ErrorCode.EngineReleased).toInfo() })
      }
      return dispatch(this.impl, name, raw)
    }
    const { regions } = this.effective()
    parts.logger.info(
      { regions: regions.map((r) => r.id), embedded: parts.stack !== undefined },
      'app core ready',
    )
  }

  private get engine(): Engine {
    return this.slot.engine
  }

  /** The settings in force: the user's under the policy (src/main/policy.ts), recomputed after each change. */
  private effective(): EffectiveSettings {
    const { user, ownRegions, policy } = this.parts
    return effectiveSettings({ ...user, regions: ownRegions }, policy)
  }

  on<E extends IpcEventName>(event: E, listener: (...args: IpcEvents[E]) => void): () => void {
    this.slot.events.on(event, listener)
    return () => void this.slot.events.off(event, listener)
  }

  attachMedia(port: MediaPortLike): MediaBridge {
    this.bridge?.close()
    this.bridge = attachMediaBridge(this.slot.media, port)
    return this.bridge
  }

  mediaStats(): MediaBridgeStats | undefined {
    return this.bridge?.stats()
  }

  settings(): AppSettings {
    const { stack, user, notices } = this.parts
    const effective = this.effective()
    const settings: AppSettings = {
      cloudProxy: this.engine.getCloudProxy(),
      activeCloudProxy: this.slot.activeCloudProxy,
      region: effective.region,
      regions: effective.regions.map(regionView),
      connectionState: this.engine.getConnectionState(),
      channel: user.channel,
      uid: user.uid,
      embedded: stack !== undefined,
      locked: effective.locked,
    }
    const notice = [effective.policyNotice, ...notices].filter((n) => n !== undefined).join(' ')
    if (notice !== '') settings.policyNotice = notice
    return settings
  }

  private save(change: Partial<UserSettings>): void {
    Object.assign(this.parts.user, change)
    try {
      saveSettings(this.parts.options.dataDir, this.parts.user)
    } catch (error) {
      // The call goes on; the next change tries again.
      this.parts.logger.warn({ err: error }, 'could not save the settings')
    }
  }

  private implementations(): Implementations {
    const { options } = this.parts
    return {
      setCloudProxy: (type) => {
        const effective = this.effective()
        const locked = effective.locked.includes('cloudProxy') && type !== effective.cloudProxy
        if (locked || !effective.allowedProxyModes.includes(type)) {
          throw new EngineError(ErrorCode.InvalidState, `proxy mode ${type} is not allowed by the IT policy`)
        }
        const code = this.engine.setCloudProxy(type)
        if (code === 0) this.save({ cloudProxy: type })
        return code
      },
      setRegion: (choice) => {
        const effective = this.effective()
        if (effective.locked.includes('region') && choice !== effective.region) {
          throw new EngineError(ErrorCode.InvalidState, 'the region is fixed by the IT policy')
        }
        const code = this.engine.setRegion(choice)
        if (code === 0) this.save({ region: choice })
        return code
      },
      joinChannel: async (token, channel, uid) => {
        this.remember(token)
        await this.ensureStack()
        const code = await this.slot.join(token, channel, uid)
        // Prefill the form next time, unless the values themselves were refused (414).
        if (code !== ErrorCode.RequestParameter) this.save({ channel, uid })
        return code
      },
      leaveChannel: () => this.engine.leaveChannel(),
      enableLocalAudio: (enabled) => this.slot.enableLocal('audio', enabled),
      enableLocalVideo: (enabled) => this.slot.enableLocal('video', enabled),
      getSettings: () => this.settings(),
      probeRegions: () => this.probeRegions(),
      getDevToken: async (channel, uid) => {
        const stack = await this.ensureStack()
        if (!stack) {
          const detail = 'no embedded stack: join tokens come from your organisation'
          throw new EngineError(ErrorCode.InvalidState, detail)
        }
        const token = await stack.mintToken(channel, uid)
        this.remember(token)
        return token
      },
      connectMedia: async () => {
        if (!options.openMediaPort) {
          throw new EngineError(ErrorCode.InvalidState, 'this host has no media port')
        }
        this.attachMedia(await options.openMediaPort())
        return 0
      },
      runNetworkCheck: () => this.runNetworkCheck(),
      exportDiagnostics: () => {
        const { stack, policy } = this.parts
        const secrets = [...this.tokens, ...(stack ? [stack.info.secret] : [])]
        const path = exportDiagnostics({
          dataDir: options.dataDir,
          options: options.diagnostics,
          settings: this.settings(),
          effective: this.effective(),
          policy,
          lastCheck: this.lastCheck,
          secrets,
        })
        this.parts.logger.info({ path }, 'diagnostics exported')
        return path
      },
    }
  }

  /** At most one check at a time: a second click while one runs gets the same report. */
  private runNetworkCheck(): Promise<NetworkCheckReport> {
    this.checking ??= (async () => {
      const { regions, httpProxy } = this.effective()
      try {
        const report = await runNetworkCheck(regions, {
          ...this.parts.options.networkCheck,
          ...(httpProxy ? { httpProxy } : {}),
        })
        this.lastCheck = report
        this.parts.logger.info({ ok: report.ok, summary: report.summary }, 'network check')
        return report
      } finally {
        this.checking = undefined
      }
    })()
    return this.checking
  }

  private remember(token: string): void {
    if (token === '') return
    // Bounded: a long session joins many times; the newest tokens are the ones its logs hold.
    if (this.tokens.size >= 64) this.tokens.delete(this.tokens.values().next().value!)
    this.tokens.add(token)
  }

  private probeRegions(): Promise<RegionProbeResult[]> {
    const probe = this.parts.options.probeRegion ?? defaultProbeRegion
    const { regions, httpProxy } = this.effective()
    return Promise.all(
      regions.map(async (region) => {
        const result = await probe(region, httpProxy ? { httpProxy } : {})
        this.slot.events.emit('regionProbe', result)
        return result
      }),
    )
  }

  /**
   * The embedded stack of another instance goes when that instance quits. Before a token or a join, outside
   * a call: if the stack in use no longer answers, take a live one (found or started, through
   * `options.localStack`) and move to a new engine for it; the page, its events and its media port stay.
   */
  private async ensureStack(): Promise<LocalStack | undefined> {
    const { stack, options, logger } = this.parts
    if (!stack || stack.owned) return stack
    const state = this.engine.getConnectionState()
    if (state !== ConnectionState.Disconnected && state !== ConnectionState.Failed) return stack
    if (await (options.stackAnswers ?? stackAnswers)(stack.info)) return stack
    logger.warn({ pid: stack.info.pid }, 'the embedded stack of another instance is gone: taking another')
    let fresh: LocalStack
    try {
      fresh = await (options.localStack ?? (() => acquireLocalStack({ logger })))()
    } catch (error) {
      const detail = 'the local test stack has gone and no new one started: restart Pinhole'
      throw new EngineError(ErrorCode.InvalidState, detail, { cause: error })
    }
    this.parts.stack = fresh
    this.parts.ownsStack = options.localStack === undefined
    this.parts.ownRegions = [...this.parts.configured, fresh.info.region]
    const old = this.slot.replace(buildEngine(this.parts))
    void old.release()
    return fresh
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.bridge?.close()
      await this.slot.release()
      if (this.parts.ownsStack) await this.parts.stack?.close()
    })()
    return this.closing
  }
}

function regionView(region: Region): RegionView {
  return { id: region.id, name: region.name, proxyHost: region.proxyHost, ports: region.ports }
}

/**
 * One embedded stack for every core of a host process: acquired on first use, closed by the host. A stack
 * found by discovery that no longer answers (its instance quit) is dropped and acquired again.
 */
export interface SharedLocalStack {
  get(): Promise<LocalStack>
  close(): Promise<void>
}

export function sharedLocalStack(
  acquire: () => Promise<LocalStack> = () => acquireLocalStack(),
  answers: (info: LocalStackInfo) => Promise<boolean> = stackAnswers,
): SharedLocalStack {
  let pending: Promise<LocalStack> | undefined
  const current = (): Promise<LocalStack> =>
    (pending ??= acquire().catch((error: unknown) => {
      pending = undefined // the next core tries again
      throw error
    }))
  return {
    async get() {
      const stack = await current()
      if (stack.owned || (await answers(stack.info))) return stack
      if (pending !== undefined && (await pending) === stack) pending = undefined
      return current()
    },
    async close() {
      const last = pending
      pending = undefined
      if (last) await (await last.catch(() => undefined))?.close()
    },
  }
}
