import { z } from 'zod'
import type {
  ConnectionState,
  EngineErrorInfo,
  RegionChoice,
  RegionProbeResult,
  TransportType,
} from './engine'
import { DeviceSettingsSchema, type DevicePolicy, type DeviceSettings } from './devices'
import { ErrorCode } from './errors'
import { ChannelNameSchema, UID_MAX } from './joinRules'
import { DisplayNameSchema } from './signaling'
import type { NetworkCheckReport } from './networkCheck'
import { ShareSourceIdSchema, type ShareSource } from './shareSources'
import type { InvokeChannel, IpcEventName, IpcEvents } from './ipcChannels'
import type { LockableField } from './policy'
import type { ProxyModeRule, SettingsNote } from './settingsNotes'

export * from './ipcChannels'

/**
 * The one IPC contract between the renderer and its host (docs/app.md), declared once: an invoke map
 * (channel → argument schema + result type) and an event map. Main validates every argument against
 * `args`; the preload exposes one function per channel and one `on`. Binary media does not travel here:
 * `connectMedia` makes the host post a fresh MessagePort to the page (mediaPort.ts), so the frame events
 * are left out of the event map.
 */

/** A result type carried by the spec only as a type; `args` is the runtime part. */
export interface InvokeSpec<Args extends z.ZodTuple, Result> {
  args: Args
  readonly result?: Result
}

const invoke =
  <Result>() =>
  <Args extends z.ZodTuple>(args: Args): InvokeSpec<Args, Result> => ({ args })

const transportType = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)])
/** The shared channel and uid rules (joinRules.ts); the engine checks the rest (uid 0 with a proxy → 414). */
const token = z.string().max(4096)
const channel = ChannelNameSchema
const uid = z.int().min(0).max(UID_MAX)
const regionChoice = z.string().min(1).max(64)
/** joinChannel's options; a display name the schema refuses is 414 before the engine sees it. */
const joinOptions = z.strictObject({ displayName: DisplayNameSchema.optional() })

/** A region as the UI lists it (no certificate material). */
export interface RegionView {
  id: string
  name: string
  /** host, as whitelisted */
  proxyHost: string
  ports: { udp: [number, number]; tcp: number }
}

/** The languages the app is translated into (docs/i18n.md); the renderer's catalogues hold exactly these. */
export const UI_LANGUAGES = ['en', 'zh-CN'] as const
export type UiLanguage = (typeof UI_LANGUAGES)[number]

export type { LockableField } from './policy'

/** Everything the renderer needs to draw its controls; read at start and after each change. */
export interface AppSettings {
  cloudProxy: TransportType
  /** The modes the IT policy lets the user pick (all four without a policy); the UI disables the others. */
  allowedProxyModes: TransportType[]
  /** Why some modes cannot be picked (the renderer words it); absent when every mode can. */
  proxyModeRule?: ProxyModeRule
  /** The proxy mode of the call in progress, null outside a call: differs from cloudProxy → "next join". */
  activeCloudProxy: TransportType | null
  region: RegionChoice
  regions: RegionView[]
  connectionState: ConnectionState
  /** The last join's channel and uid, persisted, to prefill the form. */
  channel: string
  uid: number
  /** The embedded local stack runs: `getDevToken` mints tokens and the region is "This computer". */
  embedded: boolean
  locked: LockableField[]
  /** What to tell the user about the policy in force, what it replaced, the local stack (settingsNotes.ts). */
  notes: SettingsNote[]
  /** The display name of the last join (settings.json), to prefill the join form; absent: none given. */
  displayName?: string
  /** The camera, microphone and speaker the user chose (devices.ts); empty: the system defaults. */
  devices: DeviceSettings
  /** Devices an IT policy pins or forbids (devices.ts); absent without one. No host sets it yet. */
  devicePolicy?: DevicePolicy
  /** The language the user chose in the app; absent: follow the OS (`systemLocale`, else the browser's). */
  language?: UiLanguage
  /** The OS locale the host reports (Electron `app.getLocale()`); absent in the browser host. */
  systemLocale?: string
}

/** `satisfies` refuses both a missing channel and one not named in ipcChannels.ts. */
export const INVOKE_CONTRACT = {
  setCloudProxy: invoke<number>()(z.tuple([transportType])),
  setRegion: invoke<number>()(z.tuple([regionChoice])),
  joinChannel: invoke<number>()(z.tuple([token, channel, uid, joinOptions.optional()])),
  /** Warm join: the engine keeps a proxy session ready for this join (docs/engine.md, step W). */
  prepareJoin: invoke<number>()(z.tuple([token, channel, uid])),
  leaveChannel: invoke<number>()(z.tuple([])),
  enableLocalAudio: invoke<number>()(z.tuple([z.boolean()])),
  enableLocalVideo: invoke<number>()(z.tuple([z.boolean()])),
  /** Publish / stop the screen share's track (frames come over the media port with `track: 'screen'`). */
  startScreenCapture: invoke<number>()(z.tuple([])),
  stopScreenCapture: invoke<number>()(z.tuple([])),
  /** The screens and windows the app's own picker offers (Electron); the browser host lists none. */
  listShareSources: invoke<ShareSource[]>()(z.tuple([])),
  /** The picker's choice (a listed id, or null: closed): the host answers the next getDisplayMedia with it. */
  chooseShareSource: invoke<number>()(z.tuple([ShareSourceIdSchema])),
  getSettings: invoke<AppSettings>()(z.tuple([])),
  /** Remembers the camera, microphone and speaker (the whole choice, replacing the last); always 0. */
  setDevices: invoke<number>()(z.tuple([DeviceSettingsSchema])),
  /** Probes every region now (each result is also emitted as `regionProbe`). */
  probeRegions: invoke<RegionProbeResult[]>()(z.tuple([])),
  /** Embedded stack only: a join token for this channel and uid; InvalidState otherwise. */
  getDevToken: invoke<string>()(z.tuple([channel, uid])),
  /** Asks the host to post a fresh media MessagePort to the page (mediaPort.ts); 0 once posted. */
  connectMedia: invoke<number>()(z.tuple([])),
  /**
   * The "Network check" (issue 6): the doctor's checks of every region (UDP ports, TLS 443, session API;
   * TLS through the policy's corporate HTTP proxy when it sets one), each blocked endpoint with its rule.
   */
  runNetworkCheck: invoke<NetworkCheckReport>()(z.tuple([])),
  /** Writes a diagnostics bundle (logs, versions, settings, policy, last check; redacted) → its path. */
  exportDiagnostics: invoke<string>()(z.tuple([])),
  /** The user's language, remembered in settings.json; null → follow the OS again. */
  setLanguage: invoke<number>()(z.tuple([z.enum(UI_LANGUAGES).nullable()])),
} satisfies Record<InvokeChannel, InvokeSpec<z.ZodTuple, unknown>>

export type InvokeArgs<C extends InvokeChannel> = z.infer<(typeof INVOKE_CONTRACT)[C]['args']>
export type InvokeResult<C extends InvokeChannel> =
  (typeof INVOKE_CONTRACT)[C] extends InvokeSpec<z.ZodTuple, infer R> ? R : never

/** What crosses the wire for an invoke: Electron flattens thrown errors to a string, so failures are data. */
export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: EngineErrorInfo }

/** An argument that does not match the contract: 414, refused before the engine sees it. */
export class IpcArgumentError extends Error {
  readonly code = ErrorCode.RequestParameter
  readonly channel: InvokeChannel
  readonly detail: string

  constructor(channel: InvokeChannel, detail: string) {
    super(`invalid arguments for ${channel}: ${detail}`)
    this.name = 'IpcArgumentError'
    this.channel = channel
    this.detail = detail
  }

  toInfo(): EngineErrorInfo {
    return { code: this.code, message: this.message, detail: this.detail }
  }
}

/** Validates raw arguments against the channel's schema; throws IpcArgumentError. */
export function parseInvokeArgs<C extends InvokeChannel>(name: C, raw: readonly unknown[]): InvokeArgs<C> {
  const result = INVOKE_CONTRACT[name].args.safeParse(raw)
  if (!result.success) {
    const detail = result.error.issues.map((issue) => `[${issue.path.join('.')}] ${issue.message}`).join('; ')
    throw new IpcArgumentError(name, detail)
  }
  return result.data as InvokeArgs<C>
}

/** `window.pinhole`: one function per invoke channel, plus `on`, which returns its unsubscribe. */
export type PinholeApi = {
  [C in InvokeChannel]: (...args: InvokeArgs<C>) => Promise<IpcReply<InvokeResult<C>>>
} & {
  on<E extends IpcEventName>(event: E, listener: (...args: IpcEvents[E]) => void): () => void
}
