import { INVOKE_CHANNELS, isIpcEventName, type IpcEventName, type IpcEvents } from '../../shared/ipcChannels'
import type { IpcReply, PinholeApi } from '../../shared/ipc'
import { MEDIA_PORT_MESSAGE } from '../../shared/mediaPort'
import { decodeMediaMessage, encodeMediaMessage } from '../../shared/mediaWire'
import {
  BRIDGE_WS_PATH,
  PROFILE_PARAM,
  PROFILE_STORAGE_KEY,
  hostGoneError,
  type BridgeClientMessage,
  type BridgeHostMessage,
} from '../../shared/webBridge'

/**
 * The page side of the browser host (docs/app.md): defines `window.pinhole` exactly as the Electron
 * preload does — one function per contract channel and `on` — over one WebSocket to the host, and posts
 * the media port to the page the same way. Loaded as a classic script before the renderer's modules.
 */

type Listener = (...args: unknown[]) => void

function profileId(): string {
  try {
    const existing = localStorage.getItem(PROFILE_STORAGE_KEY)
    if (existing && /^[A-Za-z0-9_-]{1,32}$/.test(existing)) return existing
    const fresh = crypto.randomUUID().replaceAll('-', '').slice(0, 16)
    localStorage.setItem(PROFILE_STORAGE_KEY, fresh)
    return fresh
  } catch {
    // Storage refused (privacy settings): a profile for this page load only.
    return crypto.randomUUID().replaceAll('-', '').slice(0, 16)
  }
}

const url = new URL(BRIDGE_WS_PATH, location.href)
url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
url.search = new URLSearchParams({ [PROFILE_PARAM]: profileId() }).toString()
const socket = new WebSocket(url)
socket.binaryType = 'arraybuffer'

const opened = new Promise<boolean>((resolve) => {
  socket.addEventListener('open', () => resolve(true), { once: true })
  socket.addEventListener('close', () => resolve(false), { once: true })
})
const pending = new Map<number, (reply: IpcReply<unknown>) => void>()
const listeners = new Map<string, Set<Listener>>()
let nextId = 1
let gone: string | undefined
let mediaPort: MessagePort | undefined

function send(message: BridgeClientMessage): void {
  socket.send(JSON.stringify(message))
}

async function invoke(name: string, args: unknown[]): Promise<IpcReply<unknown>> {
  if (!(await opened) || gone !== undefined)
    return { ok: false, error: hostGoneError(gone ?? 'no connection') }
  const id = nextId++
  return new Promise((resolve) => {
    pending.set(id, resolve)
    send({ t: 'invoke', id, name, args })
  })
}

function openMedia(): void {
  mediaPort?.close()
  const channel = new MessageChannel()
  const port = channel.port1
  mediaPort = port
  port.onmessage = (event: MessageEvent<unknown>) => {
    if (port !== mediaPort || socket.readyState !== WebSocket.OPEN) return
    const data = event.data
    if (typeof data !== 'object' || data === null) return
    // The host validates (parseMediaUp); anything unencodable is simply not sent.
    socket.send(encodeMediaMessage(data as Record<string, unknown> & { data?: ArrayBuffer }))
  }
  window.postMessage({ type: MEDIA_PORT_MESSAGE }, '*', [channel.port2])
}

socket.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (event.data instanceof ArrayBuffer) {
    const message = decodeMediaMessage(new Uint8Array(event.data))
    if (!message || !mediaPort) return
    const buffer = message['data']
    mediaPort.postMessage(message, buffer instanceof ArrayBuffer ? [buffer] : [])
    return
  }
  if (typeof event.data !== 'string') return
  const message = JSON.parse(event.data) as BridgeHostMessage
  switch (message.t) {
    case 'reply':
      pending.get(message.id)?.(message.reply)
      pending.delete(message.id)
      break
    case 'event':
      for (const listener of [...(listeners.get(message.name) ?? [])]) {
        try {
          listener(...message.args)
        } catch (error) {
          // One listener's bug must not stop the others (as the engine's emitter does).
          console.error('pinhole event listener threw', error)
        }
      }
      break
    case 'media-open':
      openMedia()
      break
  }
})

socket.addEventListener('close', (event: CloseEvent) => {
  gone = `the host closed the connection (${event.code}${event.reason ? ` ${event.reason}` : ''})`
  for (const resolve of pending.values()) resolve({ ok: false, error: hostGoneError(gone) })
  pending.clear()
  mediaPort?.close()
  mediaPort = undefined
})

function on<E extends IpcEventName>(event: E, listener: (...args: IpcEvents[E]) => void): () => void {
  if (!isIpcEventName(event)) throw new TypeError(`unknown event ${String(event)}`)
  const set = listeners.get(event) ?? new Set<Listener>()
  listeners.set(event, set)
  const wrapped = listener as Listener
  set.add(wrapped)
  return () => {
    set.delete(wrapped)
  }
}

const calls = Object.fromEntries(
  INVOKE_CHANNELS.map((name) => [name, (...args: unknown[]) => invoke(name, args)]),
)
const api = Object.freeze({ ...calls, on }) as PinholeApi

Object.defineProperty(window, 'pinhole', {
  value: api,
  writable: false,
  configurable: false,
  enumerable: true,
})
