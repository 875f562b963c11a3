import { MEDIA_PORT_MESSAGE } from '../../shared/mediaPort'

/**
 * Takes the media MessagePort the host posts to the page after `connectMedia()` (mediaPort.ts): the same
 * message in every host, so nothing here knows which host it is. Returns the unsubscribe.
 */
export function listenForMediaPort(target: Window, onPort: (port: MessagePort) => void): () => void {
  const listener = (event: MessageEvent): void => {
    // Posted by the page's own window (the preload or the web bridge), never by another frame.
    if (event.source !== target) return
    const data: unknown = event.data
    if (typeof data !== 'object' || data === null) return
    if ((data as { type?: unknown }).type !== MEDIA_PORT_MESSAGE) return
    const port = event.ports[0]
    if (port) onPort(port)
  }
  target.addEventListener('message', listener)
  return () => target.removeEventListener('message', listener)
}
