import type { EngineEvents } from './engine'

/**
 * The names of the IPC contract (ipc.ts), kept free of zod so that the preload bundle imports nothing but
 * `electron`: a sandboxed preload cannot load packages. ipc.ts keys its schemas by these names and fails to
 * compile if the two drift.
 */

export const INVOKE_CHANNELS = [
  'setCloudProxy',
  'setRegion',
  'joinChannel',
  'leaveChannel',
  'enableLocalAudio',
  'enableLocalVideo',
  'getSettings',
] as const

export type InvokeChannel = (typeof INVOKE_CHANNELS)[number]

/** The events the renderer may subscribe to: every engine event except the binary media frames. */
export type IpcEvents = Omit<EngineEvents, 'remoteVideoFrame' | 'remoteAudioFrame'>
export type IpcEventName = keyof IpcEvents

/** A Record, so adding an engine event without deciding here fails to compile. */
const EVENT_FLAGS: Record<IpcEventName, true> = {
  connectionStateChanged: true,
  proxyConnected: true,
  joinChannel: true,
  rejoinChannel: true,
  leaveChannel: true,
  userJoined: true,
  userLeft: true,
  userAudioStart: true,
  userAudioStop: true,
  userVideoStart: true,
  userVideoStop: true,
  keyFrameRequested: true,
  rtcStats: true,
  networkQuality: true,
  regionProbe: true,
  error: true,
  warning: true,
}

export const IPC_EVENTS = Object.keys(EVENT_FLAGS) as IpcEventName[]

export function isIpcEventName(name: unknown): name is IpcEventName {
  return typeof name === 'string' && Object.hasOwn(EVENT_FLAGS, name)
}

export function isInvokeChannel(name: unknown): name is InvokeChannel {
  return typeof name === 'string' && (INVOKE_CHANNELS as readonly string[]).includes(name)
}

/** Wire names, namespaced so nothing else on ipcMain collides. */
export const invokeWireChannel = (name: InvokeChannel): string => `pinhole:invoke:${name}`
export const eventWireChannel = (name: IpcEventName): string => `pinhole:event:${name}`
