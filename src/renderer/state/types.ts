/**
 * The store's types: each slice's state and actions, and the whole (AppState). They live apart from the
 * slices and the store so that a slice, which sees the whole state, and the store, which puts the slices
 * together, both import this file and neither imports the other's importer: no import cycle.
 */
import type { StoreApi } from 'zustand/vanilla'
import type { ShareSource } from '../../shared/shareSources'
import type {
  ConnectionReason,
  ConnectionState,
  NetworkQuality,
  ProxyConnectedInfo,
  RegionProbeResult,
  RemoteVideoStats,
  RtcStats,
} from '../../shared/engine'
import type { AppSettings } from '../../shared/ipc'
import type { NetworkCheckReport } from '../../shared/networkCheck'
import type { DeviceChoice, DeviceLists } from '../logic/devices'
import type { Notice, NoticeInput } from '../logic/notices'
import type { Phrase } from '../i18n/phrase'

export interface RemoteUser {
  uid: number
  audio: boolean
  video: boolean
  /** Sharing a screen or window (the engine's sub stream, issue 13). */
  screen: boolean
  /** The name they joined with, when they gave one (tiles show it instead of the uid). */
  displayName?: string
}

/** Receive figures measured in the renderer (decoder and playback), refreshed about once a second. */
export interface RemoteMediaFigures {
  framesDecoded: number
  fps: number
  /** RMS of the played audio over the last second, 0..1. */
  audioLevel: number
  /**
   * Audio samples (48 kHz, since the user's audio started) played from packets that arrived, and synthesized
   * for lost or late ones (docs/media.md "Audio: FEC, DTX, concealment"): the concealed ratio is
   * concealed / (received + concealed).
   */
  audioReceivedSamples: number
  audioConcealedSamples: number
}

export interface CallSlice {
  remotes: Record<number, RemoteUser>
  remoteFigures: Record<number, RemoteMediaFigures>
  micOn: boolean
  camOn: boolean
  stats: RtcStats | null
  quality: { tx: NetworkQuality; rx: NetworkQuality } | null
  /** The engine's figures of each remote user's video (`remoteVideoStats`), by uid; the last report's. */
  remoteVideo: Record<number, RemoteVideoStats>
  /** Each remote user's quality as their media reaches us (their `networkQuality` tx), by uid. */
  remoteQuality: Record<number, NetworkQuality>
  userJoined(uid: number, displayName?: string): void
  userLeft(uid: number): void
  userTrack(uid: number, kind: 'audio' | 'video' | 'screen', on: boolean): void
  setRemoteFigures(figures: Record<number, RemoteMediaFigures>): void
  setStats(stats: RtcStats): void
  setQuality(tx: NetworkQuality, rx: NetworkQuality): void
  /** One report: users absent from it no longer send video. */
  setRemoteVideo(stats: RemoteVideoStats[]): void
  setRemoteQuality(uid: number, quality: NetworkQuality): void
  setMic(on: boolean): void
  setCam(on: boolean): void
  /** The call ended (left, kicked, failed): no remote users, no figures. */
  clearCall(): void
}

export interface TimelineEntry {
  atMs: number
  state: ConnectionState
  reason: ConnectionReason
}

export interface JoinedInfo {
  channel: string
  uid: number
  elapsedMs: number
}

/** The live connection: state and reason, every transition with its time, the proxy path. */
export interface ConnectionSlice {
  connectionState: ConnectionState
  connectionReason: ConnectionReason | null
  timeline: TimelineEntry[]
  proxyPath: ProxyConnectedInfo | null
  joined: JoinedInfo | null
  /** The error code the engine reported since the last state change (why it failed), null without one. */
  failureCode: number | null
  /** A join or leave is being requested (buttons disabled meanwhile). */
  busy: boolean
  stateChanged(state: ConnectionState, reason: ConnectionReason, atMs: number): void
  proxyConnected(info: ProxyConnectedInfo): void
  joinResult(result: number, channel: string, uid: number, elapsedMs: number): void
  setBusy(busy: boolean): void
  setFailure(code: number): void
}

export type JoinField = 'channel' | 'uid' | 'token'

/** The join form's text as typed, and why it was refused (nothing was sent in that case). */
export interface FormSlice {
  form: Record<JoinField, string>
  /** Why Join refused the form, under the field it is about (words, so they follow the language). */
  formProblem: { field: JoinField; problem: Phrase } | null
  setField(field: JoinField, value: string): void
  setFormProblem(problem: FormSlice['formProblem']): void
  /** The name shown on this user's tiles to the others, as typed (logic/displayName.ts checks it). */
  displayName: string
  setDisplayName(name: string): void
  /** The name this user joined the call with (what the others see), null without one: the self tile and list. */
  joinedName: string | null
  setJoinedName(name: string | null): void
}

/** Which screen the window shows: the call, or the "Network check" for IT (issue 6). */
export type AppView = 'call' | 'network'

export type ExportStatus =
  | { status: 'idle' }
  | { status: 'writing' }
  | { status: 'written'; path: string }
  | { status: 'failed'; sentence: string }

/**
 * The network check view's state: the last report (each region's endpoints with status, RTT and the rule
 * to add), whether a check runs, and where the last diagnostics export went.
 */
export interface NetworkSlice {
  view: AppView
  networkReport: NetworkCheckReport | null
  networkChecking: boolean
  /** Why the last check gave no report (the host refused or went away). */
  networkProblem: string | null
  diagnosticsExport: ExportStatus
  setView(view: AppView): void
  networkCheckStarted(): void
  networkCheckDone(report: NetworkCheckReport): void
  networkCheckFailed(sentence: string): void
  exportStarted(): void
  exportDone(path: string): void
  exportFailed(sentence: string): void
}

export interface NoticesSlice {
  notices: Notice[]
  /** Puts the notice in its slot, replacing the one there (logic/notices.ts). */
  addNotice(notice: NoticeInput, atMs: number): void
  dismissNotice(id: number): void
  /** Empties one slot (its cause is over), or every slot. */
  clearNotices(slot?: string): void
}

/**
 * Everyone's audio level, ten times a second (issue 13 item 3, the active-speaker indicator): the RMS of the
 * last 100 ms, 0..1, of each remote user's decoded audio as played and of this user's microphone as
 * captured (uid 0; 0 while muted). Replaced whole at each update: a user absent from it plays no audio.
 */
export interface LevelsSlice {
  audioLevels: Record<number, number>
  setAudioLevels(levels: Record<number, number>): void
}

/** What the host says the controls are (AppSettings) and what region probes measured. */
export interface SettingsSlice {
  settings: AppSettings | null
  probes: Record<string, RegionProbeResult>
  probing: boolean
  setSettings(settings: AppSettings): void
  addProbe(result: RegionProbeResult): void
  setProbing(probing: boolean): void
}

/** The cameras, microphones and speakers, and the ones in use (deviceController.ts, docs/app.md "Devices"). */
export interface DevicesSlice {
  /** `enumerateDevices()` by kind (logic/devices.ts); empty before the page may see the devices. */
  deviceLists: DeviceLists
  /** The devices in use; a kind absent: the system default. */
  deviceChoice: DeviceChoice
  setDeviceLists(lists: DeviceLists): void
  setDeviceChoice(choice: DeviceChoice): void
}

/** The one renderer store (docs/renderer.md "State"): a thin layer of typed slices, fed by engine events. */
/** Why the last screen share did not start (the share control says it in the `share` catalogue's words). */
export type ShareProblem = 'notAllowed' | 'notFound' | 'failed'

/** The local screen share as the UI shows it (shareSlice.ts); remote shares are `RemoteUser.screen`. */
export interface ShareSlice {
  /** This participant is sharing a screen or window. */
  sharing: boolean
  /** The app's own source picker is open with these (Electron); null when closed. */
  sharePicker: ShareSource[] | null
  shareProblem: ShareProblem | null
  setSharing(on: boolean): void
  openSharePicker(sources: ShareSource[]): void
  closeSharePicker(): void
  setShareProblem(problem: ShareProblem | null): void
}

export type AppState = SettingsSlice &
  ConnectionSlice &
  CallSlice &
  NoticesSlice &
  FormSlice &
  NetworkSlice &
  LevelsSlice &
  DevicesSlice &
  ShareSlice
export type AppStore = StoreApi<AppState>
