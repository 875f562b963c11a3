import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import {
  INVOKE_CHANNELS,
  eventWireChannel,
  invokeWireChannel,
  isIpcEventName,
  type IpcEventName,
  type IpcEvents,
} from '../shared/ipcChannels'
import type { PinholeApi } from '../shared/ipc'

/**
 * The narrow bridge: one function per contract channel and `on`. ipcRenderer itself never crosses to the
 * page, and listeners never see the IpcRendererEvent (it carries `sender`). Main validates the arguments.
 */

const calls = Object.fromEntries(
  INVOKE_CHANNELS.map((name) => [
    name,
    (...args: unknown[]) => ipcRenderer.invoke(invokeWireChannel(name), ...args),
  ]),
)

function on<E extends IpcEventName>(event: E, listener: (...args: IpcEvents[E]) => void): () => void {
  if (!isIpcEventName(event)) throw new TypeError(`unknown event ${String(event)}`)
  const channel = eventWireChannel(event)
  const wrapped = (_event: IpcRendererEvent, ...args: unknown[]): void => listener(...(args as IpcEvents[E]))
  ipcRenderer.on(channel, wrapped)
  return () => {
    ipcRenderer.removeListener(channel, wrapped)
  }
}

const api = { ...calls, on } as PinholeApi

contextBridge.exposeInMainWorld('pinhole', api)
