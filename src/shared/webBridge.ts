import type { EngineErrorInfo } from './engine'
import { ErrorCode } from './errors'
import type { IpcReply } from './ipc'

/**
 * The browser host's protocol between the page's bridge script (src/webhost/bridge) and the host
 * (src/webhost/server.ts): one WebSocket per page. Text messages are JSON of these types; binary messages
 * are media (mediaWire.ts) for the current media pipe. zod-free: the bridge bundle imports this file.
 */

export const BRIDGE_WS_PATH = '/pinhole-bridge'
export const BRIDGE_SCRIPT_PATH = '/pinhole-bridge.js'
/** The query parameter of the page URL that carries the per-run secret, and the cookie it becomes. */
export const SECRET_PARAM = 'k'
export const SECRET_COOKIE = 'pinhole_k'
/** The page's profile id (localStorage), sent as a query parameter of the WebSocket URL. */
export const PROFILE_PARAM = 'profile'
export const PROFILE_STORAGE_KEY = 'pinhole.profile'

export type BridgeClientMessage = { t: 'invoke'; id: number; name: string; args: unknown[] }

export type BridgeHostMessage =
  | { t: 'reply'; id: number; reply: IpcReply<unknown> }
  | { t: 'event'; name: string; args: unknown[] }
  /** Make a new MessageChannel, post one end to the page, pipe the other over this socket. */
  | { t: 'media-open' }

/** What pending and later calls resolve with once the host has gone away. */
export function hostGoneError(detail: string): EngineErrorInfo {
  return {
    code: ErrorCode.Internal,
    message: 'The Pinhole host is not running. Restart it and reload this page.',
    detail,
  }
}
