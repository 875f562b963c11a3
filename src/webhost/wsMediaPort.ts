import type { WebSocket } from 'ws'
import type { MediaPortLike } from '../app'
import { decodeMediaMessage, encodeMediaMessage } from '../shared/mediaWire'

/**
 * The host end of a page's media pipe: MediaDown out as binary WebSocket messages, binary messages in as
 * (unvalidated) MediaUp for the bridge to check. One pipe per `connectMedia`; the host routes the socket's
 * binary messages to the current one (`deliver`).
 */
export interface WsMediaPort extends MediaPortLike {
  /** A binary message from the page. */
  deliver(bytes: Uint8Array): void
  /** Video frames dropped because the socket's send buffer was full (a slow page). */
  dropped(): number
}

/** Beyond this much unsent data, remote video is dropped rather than queued (audio always goes). */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024

export function wsMediaPort(socket: WebSocket): WsMediaPort {
  let onMessage: ((data: unknown) => void) | undefined
  const onClose: Array<() => void> = []
  let closed = false
  let dropped = 0
  const close = (): void => {
    if (closed) return
    closed = true
    for (const listener of onClose.splice(0)) listener()
  }
  socket.once('close', close)
  return {
    postMessage(message) {
      if (closed || socket.readyState !== socket.OPEN) return
      if (message.kind === 'remoteVideo' && socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        dropped++
        return
      }
      socket.send(encodeMediaMessage(message))
    },
    onMessage: (listener) => {
      onMessage = listener
    },
    onClose: (listener) => void onClose.push(listener),
    close,
    deliver(bytes) {
      if (closed) return
      // Undecodable bytes become `null`, which the bridge counts as malformed.
      onMessage?.(decodeMediaMessage(bytes))
    },
    dropped: () => dropped,
  }
}
