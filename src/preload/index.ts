import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import {
  INVOKE_CHANNELS,
  MEDIA_PORT_WIRE_CHANNEL,
  eventWireChannel,
  invokeWireChannel,
  isIpcEventName,
  type IpcEventName,
  type IpcEvents,
} from '../shared/ipcChannels'
import type { PinholeApi } from '../shared/ipc'
import { MEDIA_PORT_MESSAGE } from '../shared/mediaPort'

/**
 * The narrow bridge: one function per contract channel and `on`. ipcRenderer itself never crosses to the
 * page, and listeners never see the IpcRendererEvent (it carries `sender`). Main validates the arguments.
 * The media port main sends after `connectMedia` is posted on to the page as mediaPort.ts says, exactly as
 * the browser host's bridge does it.
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

/** The preload's `window` (the node tsconfig has no DOM lib): the part used here. */
interface PageWindow {
  postMessage(message: unknown, targetOrigin: string, transfer: unknown[]): void
}

ipcRenderer.on(MEDIA_PORT_WIRE_CHANNEL, (event: IpcRendererEvent) => {
  const [port] = event.ports
  if (port) (globalThis as unknown as PageWindow).postMessage({ type: MEDIA_PORT_MESSAGE }, '*', [port])
})
