import type { createConnection } from 'node:net'
import { WebSocket, type RawData } from 'ws'
import { encodeJoinHeader, JOIN_ACCEPTED, JOIN_HEADER } from '../../protocol/auth/joinHeader'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { JoinMessage } from '../../shared/signaling'
import type { Clock } from '../defaults'
import type { HttpProxyConfig } from '../route/httpProxy'
import { connectPinnedTls, type PinnedTls, type TlsPin } from '../route/tlsPin'

/**
 * The signaling WebSocket's opening handshake (signalingClient.ts): pinned TLS, the
 * upgrade — with the join in its `Pinhole-Join` header when asked (docs/sfu.md "Join with
 * the upgrade") — and whether the server took that join. Frames that arrive before the client listens
 * (a server that answers `joined` right after the upgrade) are kept for it.
 */
/** What of SignalingOptions (signalingClient.ts) the handshake reads. */
export interface SocketOptions {
  url: string
  tls?: {
    host: string
    port: number
    pin: TlsPin
    httpProxy?: HttpProxyConfig
    kept?: Promise<PinnedTls | undefined>
  }
  join?: Omit<JoinMessage, 'v' | 'type'>
  signal?: AbortSignal
}

export interface OpenedSocket {
  ws: WebSocket
  /** The server answered the upgrade with `Pinhole-Join: accepted`: it joins without a `join` message. */
  joinAccepted: boolean
  /** The TLS certificate the connection saw (wss through a proxy), to match the session's. */
  fingerprintSha256: string | undefined
  /** Hands the frames received so far to `onFrame` and stops keeping them. */
  replay(onFrame: (data: RawData, isBinary: boolean) => void): void
}

export async function openSocket(
  options: SocketOptions,
  timings: { connectTimeoutMs: number },
  clock: Clock,
): Promise<OpenedSocket> {
  const { signal } = options
  if (signal?.aborted) throw new EngineError(ErrorCode.JoinCanceled, 'signaling')
  const secure = options.url.startsWith('wss:')
  let connection: typeof createConnection | undefined
  let fingerprintSha256: string | undefined
  if (secure && options.tls) {
    const { host, port, pin, httpProxy } = options.tls
    const tls =
      (await usable(options.tls.kept)) ??
      (await connectPinnedTls(host, port, pin, {
        timeoutMs: timings.connectTimeoutMs,
        alpn: ['http/1.1'],
        ...(signal ? { signal } : {}),
        ...(httpProxy ? { httpProxy } : {}),
        clock,
      }))
    fingerprintSha256 = tls.fingerprintSha256
    connection = () => tls.socket
  }
  const ws = new WebSocket(options.url, {
    handshakeTimeout: timings.connectTimeoutMs,
    perMessageDeflate: false,
    ...(connection ? { createConnection: connection } : {}),
    ...(options.join ? { headers: { 'Pinhole-Join': encodeJoinHeader(options.join) } } : {}),
  })
  let joinAccepted = false
  ws.once('upgrade', (res) => (joinAccepted = res.headers[JOIN_HEADER] === JOIN_ACCEPTED))
  // Listening from the start: a frame read with the 101 is emitted before an await after 'open' resumes.
  const kept: [RawData, boolean][] = []
  const keep = (data: RawData, isBinary: boolean): number => kept.push([data, isBinary])
  ws.on('message', keep)
  await opened(ws, options.url, signal)
  return {
    ws,
    joinAccepted,
    fingerprintSha256,
    replay: (onFrame) => {
      ws.off('message', keep)
      for (const [data, isBinary] of kept.splice(0)) onFrame(data, isBinary)
    },
  }
}

/** A kept connection (a prepared join's) if it is still open: one the proxy closed is not used. */
async function usable(kept: Promise<PinnedTls | undefined> | undefined): Promise<PinnedTls | undefined> {
  const tls = await kept
  if (!tls) return undefined
  const { socket } = tls
  if (!socket.destroyed && socket.writable && socket.readyState === 'open') return tls
  socket.destroy()
  return undefined
}

/** Resolves once `ws` is open; rejects with an EngineError (unreachable, refused, timeout, canceled). */
function opened(ws: WebSocket, url: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (error: EngineError): void => {
      cleanup()
      // Terminating a handshake under way makes ws emit 'error' a tick later; with no listener left that
      // error would end the process (a leave while joining). The failure is already `error`.
      ws.on('error', () => undefined)
      ws.terminate()
      reject(error)
    }
    const onAbort = (): void => fail(new EngineError(ErrorCode.JoinCanceled, 'signaling'))
    const onError = (error: Error): void =>
      fail(new EngineError(ErrorCode.SignalingLost, `${url}: ${error.message}`, { cause: error }))
    const onUnexpected = (_req: unknown, res: { statusCode?: number }): void =>
      fail(new EngineError(ErrorCode.SignalingLost, `${url}: HTTP ${res.statusCode ?? 0}`))
    const cleanup = (): void => {
      signal?.removeEventListener('abort', onAbort)
      ws.off('error', onError)
      ws.off('unexpected-response', onUnexpected)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    ws.once('error', onError)
    ws.once('unexpected-response', onUnexpected)
    ws.once('open', () => {
      cleanup()
      resolve()
    })
  })
}
