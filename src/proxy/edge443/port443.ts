import net from 'node:net'
import { settingsOf, type Port443Options } from './options'
import { Port443Router } from './router'

/**
 * The proxy's TCP 443 (docs/architecture.md, "Ports"): one listener, each connection routed by its first
 * byte to TLS, TURN over TCP or HTTP; inside TLS, by ALPN or by the first decrypted byte to TURN over TLS
 * or HTTPS. HTTP(S) feeds a non-listening `http.Server` built from the HTTP app (session API, signaling
 * relay).
 *
 * Peeking: the first chunk is taken with `read()` in paused mode and put back with `unshift()`. Every
 * consumer Node offers reads that JS buffer before the native handle: `TLSSocket` feeds buffered bytes to
 * its TLSWrap (`initRead`), the HTTP server drains it through its `data` listener before the parser
 * consumes the handle, and a TURN handler reads through the stream API. The socket keeps its native
 * handle, so TLS stays in C++ (TLSWrap over TCPWrap) — no JS stream shim on the TURN-over-TLS hot path.
 * Tests in port443.test.ts pin this down byte for byte.
 *
 * Plain HTTP is answered with a `tls_required` error and never reaches the HTTP app: credentials and
 * signaling travel inside TLS only. Plain TURN over TCP stays (RFC 8656 §3.1). Connection slots
 * (src/platform/connectionSlots.ts): a connection is unauthenticated until its TURN Allocate authenticated
 * or its signaling WebSocket joined, and unauthenticated ones are limited per client address and in total.
 *
 * This file is the listening socket and its life; router.ts takes each connection through its stages;
 * options.ts holds the options, their defaults and the counted events.
 */

export interface Port443Listener {
  readonly port: number
  /** Open TCP connections, whatever they carry. */
  connections(): number
  /** Open TCP connections that have not authenticated (yet). */
  unauthenticated(): number
  /** Stops listening and destroys every connection (close the signal relay first for clean WS closes). */
  close(): Promise<void>
}

export { classifyFirstByte, type FirstByteRoute } from './firstByte'
export {
  PORT443_DEFAULTS,
  PORT443_EVENTS,
  type Port443Event,
  type Port443Options,
  type Port443Settings,
  type TurnConnectionHandler,
  type TurnConnectionInfo,
} from './options'

export { ALPN_PROTOCOLS } from './router'

export async function createPort443Listener(options: Port443Options): Promise<Port443Listener> {
  const cfg = settingsOf(options)
  const router = new Port443Router(options, cfg)
  const server = net.createServer({ noDelay: true }, (raw) => router.onConnection(raw))
  server.maxConnections = cfg.maxConnections
  server.on('drop', () => router.emit('rejected_max_connections'))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: options.port, host: cfg.host, reusePort: options.reusePort ?? false }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // After listen: accept errors (EMFILE and the like) must not crash the process.
  server.on('error', () => router.emit('socket_error'))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  return listenerHandle(server, port, router)
}

function listenerHandle(server: net.Server, port: number, router: Port443Router): Port443Listener {
  const { sockets, slots } = router
  let closing: Promise<void> | undefined
  return {
    port,
    connections: () => sockets.size,
    unauthenticated: () => slots.counts().unauthenticated,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        // `close` events come a tick after the server's own count drops: wait for them, so that
        // connections() is 0 once close() resolves.
        const gone = [...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)))
        for (const socket of sockets) socket.destroy()
        await Promise.all([stopped, ...gone])
      })()
      return closing
    },
  }
}
