import { ConnectionState, type TransportType } from '../shared/engine'
import { ErrorCode } from '../shared/errors'
import type { VideoTrack } from '../shared/mediaPort'
import type { InvokeArgs, InvokeChannel, InvokeResult, IpcReply, PinholeApi, UiLanguage } from '../shared/ipc'
import { phrase } from './i18n/phrase'
import {
  DeviceController,
  type CaptureProblem,
  type DeviceActions,
  type DeviceMedia,
} from './deviceController'
import { joinDisplayName } from './logic/displayName'
import { watchJoinForm } from './warmJoin'
import { checkJoinForm } from './logic/joinForm'
import { ShareFlow, type ShareMedia } from './shareFlow'
import { CONNECTION_SLOT, noticeFromCode, noticeFromInfo, type NoticeInput } from './logic/notices'
import { bindEngineEvents } from './state/engineEvents'
import type { AppState, AppStore, RemoteMediaFigures } from './state/types'

/** What the controller needs from the media side (media/mediaEngine.ts); a fake in the unit tests. */
export interface MediaControl extends ShareMedia, DeviceMedia {
  /** Listens for the host's MessagePort, then asks the host for it (`connectMedia`). */
  connect(connectMedia: () => Promise<unknown>): Promise<void>
  /** Starts capture + encoding; resolves with the kinds that could not start, each with a sentence. */
  startSending(kinds: { audio: boolean; video: boolean }): Promise<CaptureProblem[]>
  setSending(kind: 'audio' | 'video', on: boolean): Promise<CaptureProblem[]>
  stopSending(): void
  /** Closes a remote user's decoders and playback (they left). */
  dropRemote(uid: number): void
  /** Called from a click: lets the AudioContext start under autoplay rules. */
  resumePlayback(): void
  figures(): Record<number, RemoteMediaFigures>
  /** Each user's audio level of the last 100 ms (RMS 0..1), by uid; uid 0 is this user's microphone. */
  levels(): Record<number, number>
  close(): void
}

/** Declared beside the device controller (which the controller imports), so neither imports the other. */
export type { CaptureProblem } from './deviceController'

export interface Controller {
  /** Camera, microphone and speaker: the pickers' and the preview's actions (deviceController.ts). */
  readonly devices: DeviceActions
  init(): Promise<void>
  join(): Promise<void>
  leave(): Promise<void>
  setProxyMode(mode: TransportType): Promise<void>
  setRegion(region: string): Promise<void>
  toggleMic(): Promise<void>
  toggleCam(): Promise<void>
  /** Share screen / Stop sharing (shareFlow.ts). */
  toggleShare(): Promise<void>
  /** The app's source picker closed, with a source or without (null). */
  chooseShareSource(id: string | null): Promise<void>
  probeRegions(): Promise<void>
  /** The "Network check" of every region (issue 6); the report goes to the store. */
  runNetworkCheck(): Promise<void>
  /** Writes a diagnostics bundle on the host; its path goes to the store. */
  exportDiagnostics(): Promise<void>
  /** The language chosen in the app, remembered by the host; null: follow the OS again. */
  setLanguage(language: UiLanguage | null): Promise<void>
  dispose(): void
}

export interface ControllerDeps {
  bridge: PinholeApi
  store: AppStore
  media: MediaControl
  now?: () => number
  /** How often decoder/playback figures are copied into the store. */
  figuresIntervalMs?: number
  /** How often audio levels are copied into the store (the active-speaker indicator's). */
  levelsIntervalMs?: number
  /** A uid to offer when the host remembers none (two windows then differ). */
  randomUid?: () => number
  /** `navigator.mediaDevices` (the default); a stand-in in the unit tests. */
  mediaDevices?: MediaDevices
}

const CONTEXT: Record<InvokeChannel, string> = {
  setCloudProxy: 'Proxy mode',
  setRegion: 'Region',
  joinChannel: 'Join',
  prepareJoin: 'Join',
  leaveChannel: 'Leave',
  enableLocalAudio: 'Microphone',
  enableLocalVideo: 'Camera',
  startScreenCapture: 'Screen sharing',
  stopScreenCapture: 'Screen sharing',
  listShareSources: 'Screen sharing',
  chooseShareSource: 'Screen sharing',
  getSettings: 'Settings',
  setDevices: 'Devices',
  probeRegions: 'Region check',
  getDevToken: 'Token',
  connectMedia: 'Media',
  runNetworkCheck: 'Network check',
  exportDiagnostics: 'Export diagnostics',
  setLanguage: 'Language',
}

/** A join's steps share the connection's notice slot; every other action has its own. */
const SLOT: Partial<Record<InvokeChannel, string>> = {
  joinChannel: CONNECTION_SLOT,
  getDevToken: CONNECTION_SLOT,
  leaveChannel: CONNECTION_SLOT,
}

const slotOf = (name: InvokeChannel): string => SLOT[name] ?? CONTEXT[name]

export function createController(deps: ControllerDeps): Controller {
  return new AppController(deps)
}

/** The user's actions against the bridge; engine events go straight to the store (state/engineEvents.ts). */
class AppController implements Controller {
  private readonly bridge: PinholeApi
  private readonly store: AppStore
  private readonly media: MediaControl
  private readonly now: () => number
  private readonly cleanups: (() => void)[] = []
  /** The token we filled in ourselves: a later join for another channel or uid asks for a new one. */
  private autoToken: string | null = null
  private readonly share: ShareFlow
  readonly devices: DeviceController

  constructor(private readonly deps: ControllerDeps) {
    this.bridge = deps.bridge
    this.store = deps.store
    this.media = deps.media
    this.now = deps.now ?? Date.now
    this.devices = new DeviceController({
      store: deps.store,
      media: deps.media,
      mediaDevices: deps.mediaDevices ?? globalThis.navigator?.mediaDevices,
      save: (devices) => this.invoke('setDevices', devices),
      now: this.now,
    })
    this.share = new ShareFlow({
      store: deps.store,
      media: deps.media,
      invoke: (name, ...args) => this.invoke(name, ...args),
      invokeCode: (name, ...args) => this.invokeCode(name, ...args),
    })
  }

  private get s(): AppState {
    return this.store.getState()
  }

  async init(): Promise<void> {
    const effects = {
      keyFrameRequested: (track?: VideoTrack) => this.media.requestKeyFrame(track),
      connectionStateChanged: (state: ConnectionState) => {
        if (state === ConnectionState.Disconnected || state === ConnectionState.Failed) {
          this.media.stopSending()
          this.share.reset()
        }
        if (state === ConnectionState.Connected) {
          this.media.requestKeyFrame()
          this.media.requestKeyFrame('screen')
        }
        void this.refreshSettings()
      },
      userLeft: (uid: number) => this.media.dropRemote(uid),
    }
    this.cleanups.push(bindEngineEvents(this.bridge, this.store, effects, this.now))
    const timer = setInterval(
      () => this.s.setRemoteFigures(this.media.figures()),
      this.deps.figuresIntervalMs ?? 1000,
    )
    const levelsTimer = setInterval(
      () => this.s.setAudioLevels(this.media.levels()),
      this.deps.levelsIntervalMs ?? 100,
    )
    this.cleanups.push(() => clearInterval(timer))
    this.cleanups.push(() => clearInterval(levelsTimer))
    await this.refreshSettings()
    this.prefillForm()
    this.cleanups.push(watchJoinForm(this.store, (...join) => void this.bridge.prepareJoin(...join)))
    await this.devices.init()
    await this.media.connect(() => this.invoke('connectMedia'))
    await this.probeRegions()
  }

  async join(): Promise<void> {
    const st = this.s
    if (!st.settings || st.busy) return
    const token = st.form.token === this.autoToken ? '' : st.form.token
    const check = checkJoinForm({
      ...st.form,
      token,
      cloudProxy: st.settings.cloudProxy,
      embedded: st.settings.embedded,
    })
    if (!check.ok) {
      st.setFormProblem({ field: check.field, problem: check.problem })
      return
    }
    // A name the rules refuse is said under its field as it is typed; nothing is sent.
    const name = joinDisplayName(st.displayName)
    if (!name.ok) return
    st.setFormProblem(null)
    st.setBusy(true)
    this.media.resumePlayback()
    try {
      await this.joinChecked(check.channel, check.uid, check.token, name.displayName)
    } finally {
      this.s.setBusy(false)
    }
  }

  async leave(): Promise<void> {
    this.s.setBusy(true)
    try {
      await this.invokeCode('leaveChannel')
      this.media.stopSending()
      this.share.reset()
      this.s.clearCall()
      await this.refreshSettings()
    } finally {
      this.s.setBusy(false)
    }
  }

  async setProxyMode(mode: TransportType): Promise<void> {
    await this.invokeCode('setCloudProxy', mode)
    await this.refreshSettings()
  }

  async setRegion(region: string): Promise<void> {
    await this.invokeCode('setRegion', region)
    await this.refreshSettings()
  }

  toggleMic(): Promise<void> {
    return this.toggle('audio')
  }

  toggleCam(): Promise<void> {
    return this.toggle('video')
  }

  toggleShare(): Promise<void> {
    return this.share.toggle()
  }

  chooseShareSource(id: string | null): Promise<void> {
    return this.share.choose(id)
  }

  async probeRegions(): Promise<void> {
    this.s.setProbing(true)
    const results = await this.invoke('probeRegions')
    for (const result of results ?? []) this.s.addProbe(result)
    this.s.setProbing(false)
  }

  async runNetworkCheck(): Promise<void> {
    if (this.s.networkChecking) return
    this.s.networkCheckStarted()
    const report = await this.invoke('runNetworkCheck')
    if (report) this.s.networkCheckDone(report)
    else this.s.networkCheckFailed('The check did not run: see the notice above.')
  }

  async setLanguage(language: UiLanguage | null): Promise<void> {
    await this.invokeCode('setLanguage', language)
    await this.refreshSettings()
  }

  async exportDiagnostics(): Promise<void> {
    if (this.s.diagnosticsExport.status === 'writing') return
    this.s.exportStarted()
    const path = await this.invoke('exportDiagnostics')
    if (path !== null) this.s.exportDone(path)
    else this.s.exportFailed('No file was written: see the notice above.')
  }

  dispose(): void {
    this.devices.dispose()
    this.cleanups.splice(0).forEach((off) => off())
    this.media.close()
  }

  private prefillForm(): void {
    const settings = this.s.settings
    if (!settings) return
    this.store.setState({ connectionState: settings.connectionState })
    if (this.s.form.channel === '') this.s.setField('channel', settings.channel)
    const uid = settings.uid > 0 ? settings.uid : (this.deps.randomUid ?? defaultRandomUid)()
    if (this.s.form.uid === '') this.s.setField('uid', String(uid))
    if (this.s.displayName === '' && settings.displayName) this.s.setDisplayName(settings.displayName)
  }

  private async joinChecked(
    channel: string,
    uid: number,
    typedToken: string,
    displayName: string | undefined,
  ): Promise<void> {
    let token = typedToken
    if (token === '') {
      const minted = await this.invoke('getDevToken', channel, uid)
      if (minted === null) return
      token = this.autoToken = minted
      this.s.setField('token', minted)
    }
    this.reportCapture(await this.media.startSending({ audio: this.s.micOn, video: this.s.camOn }))
    await this.invokeCode('enableLocalVideo', this.s.camOn)
    await this.invokeCode('enableLocalAudio', this.s.micOn)
    const named = displayName === undefined ? [] : ([{ displayName }] as const)
    this.s.setJoinedName(displayName ?? null)
    const result = await this.invokeCode('joinChannel', token, channel, uid, ...named)
    if (result !== 0) this.media.stopSending()
    await this.refreshSettings()
  }

  private async toggle(kind: 'audio' | 'video'): Promise<void> {
    const on = !(kind === 'video' ? this.s.camOn : this.s.micOn)
    if (kind === 'video') this.s.setCam(on)
    else this.s.setMic(on)
    this.reportCapture(await this.media.setSending(kind, on))
    const effective = kind === 'video' ? this.s.camOn : this.s.micOn
    await this.invokeCode(kind === 'video' ? 'enableLocalVideo' : 'enableLocalAudio', effective)
  }

  private notify(notice: NoticeInput | null): void {
    if (notice) this.s.addNotice(notice, this.now())
  }

  /** Calls the bridge; a refused call becomes a notice and null, never a throw into React. */
  private async invoke<C extends InvokeChannel>(
    name: C,
    ...args: InvokeArgs<C>
  ): Promise<InvokeResult<C> | null> {
    try {
      const call = this.bridge[name] as unknown as (...a: InvokeArgs<C>) => Promise<IpcReply<InvokeResult<C>>>
      const reply = await call(...args)
      if (reply.ok) {
        // A value that is not a result code is a success: that action's last notice is over.
        if (typeof reply.value !== 'number' && slotOf(name) !== CONNECTION_SLOT)
          this.s.clearNotices(slotOf(name))
        return reply.value
      }
      this.notify(noticeFromInfo(reply.error, CONTEXT[name], 'error', slotOf(name)))
    } catch (error) {
      const sentence = `The app's host did not answer: ${String(error)}`
      const words = phrase('errors:hostDidNotAnswer', { error: String(error) })
      this.notify({
        severity: 'error',
        code: null,
        sentence,
        phrase: words,
        context: CONTEXT[name],
        slot: slotOf(name),
      })
    }
    return null
  }

  /**
   * Result-code calls (setCloudProxy, joinChannel…): a non-zero code is a notice, 0 ends the action's
   * last one. The connection's slot is the engine events' to empty (state changes), not a result's.
   */
  private async invokeCode<C extends InvokeChannel>(name: C, ...args: InvokeArgs<C>): Promise<number | null> {
    const result = (await this.invoke(name, ...args)) as number | null
    if (result === 0 && slotOf(name) !== CONNECTION_SLOT) this.s.clearNotices(slotOf(name))
    // A join canceled by the user's own Leave needs no telling.
    else if (result !== null && result !== ErrorCode.JoinCanceled) {
      this.notify(noticeFromCode(result, CONTEXT[name], slotOf(name)))
    }
    return result
  }

  private async refreshSettings(): Promise<void> {
    const settings = await this.invoke('getSettings')
    if (settings) this.s.setSettings(settings)
  }

  private reportCapture(problems: CaptureProblem[]): void {
    for (const p of problems) {
      const context = p.kind === 'video' ? 'Camera' : 'Microphone'
      const slot = `capture:${p.kind}`
      this.notify({ severity: 'warning', code: null, sentence: p.sentence, phrase: p.phrase, context, slot })
      if (p.kind === 'video') this.s.setCam(false)
      else this.s.setMic(false)
    }
  }
}

function defaultRandomUid(): number {
  return 1000 + Math.floor(Math.random() * 9000)
}
