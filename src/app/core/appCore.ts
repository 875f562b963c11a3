import { type Engine, silentLogger } from '../../engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { AppSettings, IpcEventName, IpcEvents } from '../../shared/ipc'
import type { SettingsNote } from '../../shared/settingsNotes'
import { effectiveSettings, type PolicyLoad } from '../settings/policy'
import { CoreChecks } from './coreChecks'
import type { AppCoreOptions, CoreParts } from './coreOptions'
import {
  assertProxyModeAllowed,
  assertRegionAllowed,
  effectiveOf,
  saveUser,
  settingsView,
} from './coreSettings'
import { dispatch, type Implementations, type Invoker } from './dispatch'
import { buildEngine, ensureLiveStack, stackAtStart, TokenMemory } from './coreEngine'
import { EngineSlot } from './engineSlot'
import {
  attachMediaBridge,
  type MediaBridge,
  type MediaBridgeStats,
  type MediaPortLike,
} from '../mediaBridge'
import { loadSettings } from '../settings/settings'

export type { AppCoreOptions } from './coreOptions'
export { sharedLocalStack, type SharedLocalStack } from '../stack/discovery'

/**
 * The host-neutral app core (docs/app.md): one per window (Electron) or per connected page (browser host).
 * It owns one engine, the user's settings in `dataDir`, the region list (configuration, IT policy, or the
 * embedded local stack) and the media bridge, and implements every channel of the IPC contract. It imports
 * no Electron: the hosts wire `invoke`, `on` and `openMediaPort` to their transport. The settings under
 * the policy are in coreSettings.ts, the engine and its local stack in coreEngine.ts, the network
 * check, region probes and diagnostics export in coreChecks.ts.
 */

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

export async function createAppCore(options: AppCoreOptions): Promise<AppCore> {
  const logger = options.logger ?? silentLogger
  const policy = options.policy ?? NO_POLICY
  const loaded = loadSettings(options.dataDir)
  if (loaded.warning) logger.warn({ dataDir: options.dataDir }, loaded.warning)
  const user = loaded.settings
  const configured = [...(options.regions ?? [])]
  const before = effectiveSettings({ ...user, regions: configured }, policy)
  const notices: SettingsNote[] = []
  const stack = await stackAtStart(options, logger, before, notices)
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

class Core implements AppCore {
  readonly invoke: Invoker
  private readonly slot: EngineSlot
  private readonly impl: Implementations
  private readonly checks: CoreChecks
  private readonly tokens = new TokenMemory()
  private bridge: MediaBridge | undefined
  private closing: Promise<void> | undefined

  constructor(
    private readonly parts: CoreParts,
    engine: Engine,
  ) {
    this.slot = new EngineSlot(engine)
    this.checks = new CoreChecks({
      options: parts.options,
      logger: parts.logger,
      policy: parts.policy,
      effective: () => effectiveOf(parts),
      settings: () => this.settings(),
      secrets: () => this.tokens.secrets(parts.stack),
      onRegionProbe: (result) => this.slot.events.emit('regionProbe', result),
    })
    this.impl = this.implementations()
    this.invoke = (name, raw) => {
      if (this.closing) {
        return Promise.resolve({ ok: false, error: new EngineError(ErrorCode.EngineReleased).toInfo() })
      }
      return dispatch(this.impl, name, raw)
    }
    const { regions } = effectiveOf(parts)
    parts.logger.info(
      { regions: regions.map((r) => r.id), embedded: parts.stack !== undefined },
      'app core ready',
    )
  }

  private get engine(): Engine {
    return this.slot.engine
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
    return settingsView(this.parts, this.engine, this.slot.activeCloudProxy)
  }

  private implementations(): Implementations {
    const { options } = this.parts
    return {
      setCloudProxy: (type) => {
        assertProxyModeAllowed(effectiveOf(this.parts), type)
        const code = this.engine.setCloudProxy(type)
        if (code === 0) saveUser(this.parts, { cloudProxy: type })
        return code
      },
      setRegion: (choice) => {
        assertRegionAllowed(effectiveOf(this.parts), choice)
        const code = this.engine.setRegion(choice)
        if (code === 0) saveUser(this.parts, { region: choice })
        return code
      },
      joinChannel: async (token, channel, uid, joinOptions) => {
        this.tokens.remember(token)
        await ensureLiveStack(this.parts, this.slot)
        const code = await this.slot.join(token, channel, uid, joinOptions)
        // Prefill the form next time, unless the values themselves were refused (414).
        if (code !== ErrorCode.RequestParameter)
          saveUser(this.parts, { channel, uid, displayName: joinOptions?.displayName })
        return code
      },
      prepareJoin: (token, channel, uid) => this.engine.prepareJoin(token, channel, uid),
      leaveChannel: () => this.engine.leaveChannel(),
      enableLocalAudio: (enabled) => this.slot.enableLocal('audio', enabled),
      enableLocalVideo: (enabled) => this.slot.enableLocal('video', enabled),
      startScreenCapture: () => this.engine.startScreenCapture(),
      stopScreenCapture: () => this.engine.stopScreenCapture(),
      getSettings: () => this.settings(),
      setDevices: (devices) => {
        saveUser(this.parts, { devices })
        return 0
      },
      probeRegions: () => this.checks.probeRegions(),
      getDevToken: async (channel, uid) => {
        const stack = await ensureLiveStack(this.parts, this.slot)
        if (!stack) {
          const detail = 'no embedded stack: join tokens come from your organisation'
          throw new EngineError(ErrorCode.InvalidState, detail)
        }
        const token = await stack.mintToken(channel, uid)
        this.tokens.remember(token)
        return token
      },
      connectMedia: async () => {
        if (!options.openMediaPort) {
          throw new EngineError(ErrorCode.InvalidState, 'this host has no media port')
        }
        this.attachMedia(await options.openMediaPort())
        return 0
      },
      listShareSources: () => options.shareSources?.list() ?? [],
      chooseShareSource: (id) => options.shareSources?.choose(id) ?? 0,
      runNetworkCheck: () => this.checks.runNetworkCheck(),
      setLanguage: (language) => {
        saveUser(this.parts, { language: language ?? undefined })
        return 0
      },
      exportDiagnostics: () => this.checks.exportDiagnostics(),
    }
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
