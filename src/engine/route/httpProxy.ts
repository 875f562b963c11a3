import { connect, type Socket } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import type { RTCPeerConnectionConfig } from 'werift'
import type { MediaTransport } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { systemClock, type Clock } from '../defaults'

/**
 * A corporate HTTP CONNECT proxy for the proxy's TLS port (issue 6; docs/engine.md "Corporate HTTP
 * proxy"): networks where even 443 goes out only through a web proxy. The engine opens a tunnel with
 * `CONNECT host:port` (RFC 9110 §9.3.6; basic auth, RFC 7617, when configured) and runs its own pinned TLS
 * inside it, so the fingerprint check is end to end: a proxy that intercepts TLS is still reported as
 * `TlsFingerprintMismatch`. Each failure has its own code: the proxy unreachable, 407 with no
 * credentials, 407 with credentials (refused), any other refusal.
 */

export interface HttpProxyConfig {
  host: string
  port: number
  username?: string
  password?: string
}

/** `http://[user[:pass]@]host[:port]` (port 80 when absent); throws RangeError naming what is wrong. */
export function parseHttpProxyUrl(text: string): HttpProxyConfig {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new RangeError(`not a URL: ${text} (expected http://[user:pass@]host:port)`)
  }
  if (url.protocol !== 'http:') throw new RangeError(`${url.protocol} proxies are not supported; use http://`)
  if (url.pathname !== '/' || url.search || url.hash) throw new RangeError(`a proxy URL has no path: ${text}`)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (!host) throw new RangeError(`no proxy host in ${text}`)
  const config: HttpProxyConfig = { host, port: url.port ? Number(url.port) : 80 }
  if (url.username) config.username = decodeURIComponent(url.username)
  if (url.password) config.password = decodeURIComponent(url.password)
  return config
}

/** host:port of the proxy, never the credentials (for logs and error details). */
export function describeHttpProxy(proxy: HttpProxyConfig): string {
  return `${proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host}:${proxy.port}`
}

export interface TunnelOptions {
  timeoutMs: number
  signal?: AbortSignal
  clock?: Clock
}

/** The proxy's answer headers are small; a proxy that sends more is not one we talk to. */
const MAX_HEADER_BYTES = 16 * 1024

/**
 * A TCP socket to `host:port` through the proxy, ready for TLS. Rejects with HttpProxyUnreachable,
 * HttpProxyAuthRequired, HttpProxyAuthRefused or HttpProxyConnectRefused (or JoinCanceled).
 */
export function connectViaHttpProxy(
  proxy: HttpProxyConfig,
  host: string,
  port: number,
  options: TunnelOptions,
): Promise<Socket> {
  const clock = options.clock ?? systemClock
  const via = describeHttpProxy(proxy)
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`
  if (options.signal?.aborted) return Promise.reject(new EngineError(ErrorCode.JoinCanceled, target))
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: proxy.host, port: proxy.port, noDelay: true })
    let connected = false
    let settled = false
    let buffered = Buffer.alloc(0)
    const finish = (error?: EngineError): void => {
      if (settled) return
      settled = true
      clock.clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      socket.off('data', onData)
      if (error) {
        socket.destroy()
        reject(error)
      } else resolve(socket)
    }
    const onAbort = (): void => finish(new EngineError(ErrorCode.JoinCanceled, `${target} via ${via}`))
    const timer = clock.setTimeout(
      () => finish(timeoutError(connected, via, target, options.timeoutMs)),
      options.timeoutMs,
    )
    options.signal?.addEventListener('abort', onAbort, { once: true })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!settled) finish(socketError(connected, via, error))
    })
    socket.on('close', () =>
      finish(new EngineError(ErrorCode.HttpProxyConnectRefused, `${via}: closed before answering CONNECT`)),
    )
    socket.once('connect', () => {
      connected = true
      socket.write(connectRequest(proxy, target))
    })
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      const answer = connectAnswer(buffered)
      if (!answer) {
        if (buffered.length > MAX_HEADER_BYTES) {
          finish(new EngineError(ErrorCode.HttpProxyConnectRefused, `${via}: answer headers too large`))
        }
        return
      }
      const { status, statusLine, rest } = answer
      if (status !== undefined && status.startsWith('2')) {
        // Bytes past the headers already belong to the tunnel (the TLS server speaking first).
        if (rest.length > 0) socket.unshift(rest)
        return finish()
      }
      finish(refusal(proxy, via, target, status, statusLine))
    }
    socket.on('data', onData)
  })
}

/** The proxy's status once its answer headers are complete; `rest` is what followed them. */
function connectAnswer(
  buffered: Buffer,
): { status: string | undefined; statusLine: string; rest: Buffer } | undefined {
  const end = buffered.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const statusLine = buffered.subarray(0, buffered.indexOf('\r\n')).toString('latin1')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]
  return { status, statusLine, rest: buffered.subarray(end + 4) }
}

/** No TCP answer is the proxy unreachable; no answer to CONNECT over a live connection is a refusal. */
function timeoutError(connected: boolean, via: string, target: string, timeoutMs: number): EngineError {
  return connected
    ? new EngineError(
        ErrorCode.HttpProxyConnectRefused,
        `${via}: no answer to CONNECT ${target} in ${timeoutMs} ms`,
      )
    : new EngineError(ErrorCode.HttpProxyUnreachable, `${via}: no TCP answer in ${timeoutMs} ms`)
}

function socketError(connected: boolean, via: string, error: NodeJS.ErrnoException): EngineError {
  return connected
    ? new EngineError(ErrorCode.HttpProxyConnectRefused, `${via}: ${error.code ?? error.message}`)
    : new EngineError(
        ErrorCode.HttpProxyUnreachable,
        `${via}: TCP connect failed (${error.code ?? error.message})`,
        {
          cause: error,
        },
      )
}

function connectRequest(proxy: HttpProxyConfig, target: string): string {
  const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`]
  if (proxy.username !== undefined) {
    const token = Buffer.from(`${proxy.username}:${proxy.password ?? ''}`, 'utf8').toString('base64')
    lines.push(`Proxy-Authorization: Basic ${token}`)
  }
  return `${lines.join('\r\n')}\r\n\r\n`
}

function refusal(
  proxy: HttpProxyConfig,
  via: string,
  target: string,
  status: string | undefined,
  statusLine: string,
): EngineError {
  const detail = `${via}: CONNECT ${target} answered "${statusLine.slice(0, 200)}"`
  // 407 is the standard answer (RFC 9110 §15.5.8); tinyproxy answers wrong credentials with 401.
  if (status === '407' || status === '401') {
    return new EngineError(
      proxy.username === undefined ? ErrorCode.HttpProxyAuthRequired : ErrorCode.HttpProxyAuthRefused,
      detail,
    )
  }
  return new EngineError(ErrorCode.HttpProxyConnectRefused, detail)
}

/**
 * werift's config for a new PeerConnection on `transport`. For TURN over TLS its `turnTlsOptions` get a
 * TCP socket of ours: werift's TLS transport calls `tls.connect({ ...turnTlsOptions, host, port })`, and
 * Node's `tls.connect` runs TLS over `socket` when one is given (host and port then only name the server);
 * werift's own types leave `socket` out, hence the cast. Through a corporate proxy that socket is a fresh
 * tunnel; without one, a plain connection to the proxy's TCP port.
 *
 * Either way the socket has Nagle's algorithm off, which is why werift does not open it itself
 * (docs/engine.md "Join round trips", step T1): werift retransmits STUN requests over TCP too (every 50 ms,
 * doubling), and `tls.connect` ignores `noDelay`, so each retransmission left a small segment unacknowledged
 * and Nagle held every following request — the next Allocate, ChannelBind, each connectivity check, the
 * DTLS flights — until the ACK came back: one extra round trip per exchange over the join.
 *
 * One socket serves one TURN client: relay-only with `max-bundle` werift makes exactly one per
 * PeerConnection. The caller owns the socket (destroys it with the PeerConnection; a TLSSocket over it
 * destroys it too).
 */
export async function weriftConfigVia(
  // TransportSelection's fields, by shape: route/types.ts imports relayHandover → turnProbe → tlsPin → here.
  transport: { transport: MediaTransport; target: string; rtcConfig: RTCPeerConnectionConfig },
  httpProxy: HttpProxyConfig | undefined,
  options: TunnelOptions,
): Promise<{ rtcConfig: RTCPeerConnectionConfig; tunnel?: Socket }> {
  if (transport.transport !== 'tls') return { rtcConfig: transport.rtcConfig }
  const split = transport.target.lastIndexOf(':')
  const host = transport.target.slice(0, split).replace(/^\[|\]$/g, '')
  const port = Number(transport.target.slice(split + 1))
  const tunnel = httpProxy ? await connectViaHttpProxy(httpProxy, host, port, options) : direct(host, port)
  tunnel.setNoDelay(true)
  const turnTlsOptions = { ...transport.rtcConfig.turnTlsOptions, socket: tunnel } as ConnectionOptions
  return { rtcConfig: { ...transport.rtcConfig, turnTlsOptions }, tunnel }
}

/**
 * A connection to the proxy's TCP port for werift's TLS. Its errors reach werift through the TLSSocket over
 * it (werift's connect fails as it did when it connected itself); the listener here only keeps an error
 * before werift wraps it (or on a PeerConnection closed before it gathered) from being unhandled.
 */
function direct(host: string, port: number): Socket {
  const socket = connect({ host, port, noDelay: true })
  socket.on('error', () => undefined)
  return socket
}
