import type { MessagePortMain } from 'electron'
import type { MediaPortLike } from '../app'

/**
 * Electron's MessagePortMain as the bridge's port. MessagePortMain transfers only ports, so the buffers of
 * MediaDown are structured-cloned across the process boundary (they cross it as a copy in any case); the
 * renderer's side transfers its own.
 */
export function electronMediaPort(port: MessagePortMain): MediaPortLike {
  return {
    postMessage: (message) => port.postMessage(message),
    onMessage: (listener) => {
      port.on('message', (event) => listener(event.data))
      // Messages queue until start(): call it once the listener is in place.
      port.start()
    },
    onClose: (listener) => void port.on('close', listener),
    close: () => port.close(),
  }
}
