import type { RawData, WebSocket } from 'ws'
import { createAppCore, invokeUnchecked, type AppCore, type AppCoreOptions } from '../app'
import { IPC_EVENTS } from '../shared/ipc'
import { BRIDGE_SCRIPT_PATH, type BridgeHostMessage } from '../shared/webBridge'
import { wsMediaPort, type WsMediaPort } from './wsMediaPort'

/**
 * One connected page of the browser host: its WebSocket wired to its own app core — JSON invokes to
 * `core.invoke`, core events out as JSON, `connectMedia` as a media pipe over the same socket.
 */

/** index.html with the bridge script before the renderer's first script (it must define window.pinhole first). */
export function servePage(indexHtml: string): string {
  const tag = `<script src="${BRIDGE_SCRIPT_PATH}"></script>\n    `
  const at = indexHtml.indexOf('<script')
  if (at >= 0) return indexHtml.slice(0, at) + tag + indexHtml.slice(at)
  return indexHtml.replace('</head>', `${tag}</head>`)
}

/** The largest JSON message a page may send (an invoke is a few hundred bytes). */
const MAX_TEXT_BYTES = 64 * 1024

export async function attachPage(
  ws: WebSocket,
  options: Omit<AppCoreOptions, 'openMediaPort'>,
): Promise<AppCore> {
  let media: WsMediaPort | undefined
  const post = (message: BridgeHostMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message))
  }
  // Messages that arrive while the core starts (the stack may be starting) wait for it.
  const early: Array<[RawData, boolean]> = []
  const onEarly = (data: RawData, isBinary: boolean): void => void early.push([data, isBinary])
  ws.on('message', onEarly)

  const core = await createAppCore({
    ...options,
    openMediaPort: () => {
      media?.close()
      media = wsMediaPort(ws)
      post({ t: 'media-open' })
      return media
    },
  })
  if (ws.readyState !== ws.OPEN) {
    await core.close()
    throw new Error('the page went away while its core started')
  }
  const stopEvents = IPC_EVENTS.map((name) =>
    core.on(name, (...args: unknown[]) => post({ t: 'event', name, args })),
  )

  const onMessage = (data: RawData, isBinary: boolean): void => {
    const bytes = toBytes(data)
    if (isBinary) {
      media?.deliver(bytes)
      return
    }
    if (bytes.byteLength > MAX_TEXT_BYTES) return
    let message: unknown
    try {
      message = JSON.parse(bytes.toString('utf8'))
    } catch {
      return // not JSON: nothing to answer
    }
    if (typeof message !== 'object' || message === null) return
    const { t, id, name, args } = message as Record<string, unknown>
    if (t !== 'invoke' || typeof id !== 'number' || !Number.isSafeInteger(id)) return
    // The core validates the arguments; a name outside the contract is 414 without reaching it.
    void invokeUnchecked(core.invoke, name, args).then((reply) => post({ t: 'reply', id, reply }))
  }
  ws.off('message', onEarly)
  ws.on('message', onMessage)
  for (const [data, isBinary] of early.splice(0)) onMessage(data, isBinary)
  ws.once('close', () => {
    stopEvents.forEach((off) => off())
    media?.close()
    void core.close()
  })
  return core
}

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}
