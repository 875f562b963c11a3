import type { EngineEvents } from './engine'
import { ENGINE_EVENT_NAMES } from './engineEventNames'

/**
 * The names of the IPC contract (ipc.ts), kept free of zod so that the preload bundle imports nothing but
 * `electron`: a sandboxed preload cannot load packages. ipc.ts keys its schemas by these names and fails to
 * compile if the two drift.
 */

export const INVOKE_CHANNELS = [
  'setCloudProxy',
  'setRegion',
  'joinChannel',
  'prepareJoin',
  'leaveChannel',
  'enableLocalAudio',
  'enableLocalVideo',
  'startScreenCapture',
  'stopScreenCapture',
  'listShareSources',
  'chooseShareSource',
  'getSettings',
  'setDevices',
  'probeRegions',
  'getDevToken',
  'connectMedia',
  'runNetworkCheck',
  'exportDiagnostics',
  'setLanguage',
] as const

export type InvokeChannel = (typeof INVOKE_CHANNELS)[number]

/**
 * The events the renderer may subscribe to: every engine event except what the media port carries (the
 * binary media frames, and the send target the encoders follow).
 */
export type IpcEvents = Omit<EngineEvents, 'remoteVideoFrame' | 'remoteAudioFrame' | 'sendTargetChanged'>
export type IpcEventName = keyof IpcEvents

const MEDIA_PORT_ONLY: readonly string[] = ['remoteVideoFrame', 'remoteAudioFrame', 'sendTargetChanged']
export const IPC_EVENTS = ENGINE_EVENT_NAMES.filter(
  (name) => !MEDIA_PORT_ONLY.includes(name),
) as IpcEventName[]
const IPC_EVENT_SET: ReadonlySet<string> = new Set(IPC_EVENTS)

export function isIpcEventName(name: unknown): name is IpcEventName {
  return typeof name === 'string' && IPC_EVENT_SET.has(name)
}

export function isInvokeChannel(name: unknown): name is InvokeChannel {
  return typeof name === 'string' && (INVOKE_CHANNELS as readonly string[]).includes(name)
}

/** Wire names, namespaced so nothing else on ipcMain collides. */
export const invokeWireChannel = (name: InvokeChannel): string => `pinhole:invoke:${name}`
export const eventWireChannel = (name: IpcEventName): string => `pinhole:event:${name}`

/** Electron main → preload: the media MessagePort (the preload posts it on to the page, mediaPort.ts). */
export const MEDIA_PORT_WIRE_CHANNEL = 'pinhole:media-port'
