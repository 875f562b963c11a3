import { X509Certificate } from 'node:crypto'
import { isIP, type Socket } from 'node:net'
import { connect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls'
import { EngineError, ErrorCode } from '../../shared/errors'
import type { Region } from '../../shared/engine'
import { systemClock, type Clock } from '../defaults'
import { connectViaHttpProxy, type HttpProxyConfig } from './httpProxy'
import { netFailureError } from './netFailure'

/**
 * TLS to the proxy's TCP port with its certificate pinned (docs/architecture.md "Regions"): by SHA-256
 * fingerprint (any chain, checked after the handshake and before a single application byte is written), by a
 * CA, or by the system CAs when the region has neither. Failures are EngineErrors that tell blocked (no
 * answer) from refused (nothing listens), unresolved (DNS) and intercepted.
 */

export interface TlsPin {
  /** AB:CD:… (case-insensitive). */
  fingerprintSha256?: string
  caPem?: string
}

export function pinOf(region: Region): TlsPin {
  const pin: TlsPin = {}
  if (region.tlsFingerprintSha256 !== undefined) pin.fingerprintSha256 = region.tlsFingerprintSha256
  if (region.caPem !== undefined) pin.caPem = region.caPem
  return pin
}

export interface PinnedTlsOptions {
  timeoutMs: number
  /** ALPN to offer: `stun.turn` for TURN over TLS, `http/1.1` for HTTPS (RFC 7443). */
  alpn: string[]
  signal?: AbortSignal
  clock?: Clock
  /**
   * Through a corporate HTTP CONNECT proxy: the tunnel first (within `timeoutMs`), then the same pinned
   * TLS inside it, end to end. `connectMs` is then the tunnel's setup (proxy + its connect).
   */
  httpProxy?: HttpProxyConfig
}

export interface PinnedTls {
  socket: TLSSocket
  /** TCP SYN → SYN/ACK: one round trip, comparable with a STUN Binding over UDP. */
  connectMs: number
  /** From start to the verified end of the TLS handshake. */
  handshakeMs: number
  fingerprintSha256: string
  /** The leaf certificate, PEM: lets werift's own TLS connection pin the same certificate. */
  leafPem: string
}

const normalize = (fingerprint: string): string => fingerprint.toUpperCase()

/** Node's certificate verification error codes (OpenSSL's X509_V_ERR_* names, plus the altname check). */
const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|CHAIN|SIGNATURE|EXPIRED|NOT_YET_VALID/

export async function connectPinnedTls(
  host: string,
  port: number,
  pin: TlsPin,
  options: PinnedTlsOptions,
): Promise<PinnedTls> {
  const clock = options.clock ?? systemClock
  const target = `${host}:${port}`
  if (options.signal?.aborted) throw new EngineError(ErrorCode.JoinCanceled, target)
  const started = clock.now()
  let connectMs: number | undefined
  let tunnel: Socket | undefined
  if (options.httpProxy) {
    tunnel = await connectViaHttpProxy(options.httpProxy, host, port, {
      timeoutMs: options.timeoutMs,
      clock,
      ...(options.signal ? { signal: options.signal } : {}),
    })
    connectMs = clock.now() - started
  }
  const leftMs = Math.max(1, options.timeoutMs - (clock.now() - started))
  let settled = false
  return new Promise<PinnedTls>((resolve, reject) => {
    const verify = { ...tlsVerifyOptions(host, pin), ALPNProtocols: options.alpn }
    const socket = tunnel ? connect({ socket: tunnel, ...verify }) : connect({ host, port, ...verify })
    // Interactive exchanges (HTTP, WebSocket, STUN): no Nagle wait behind an unacknowledged segment.
    // `tls.connect` ignores a `noDelay` option; the socket's own setting reaches the TCP handle.
    socket.setNoDelay(true)
    const fail = (error: EngineError): void => {
      settled = true
      clock.clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      reject(error)
    }
    const onAbort = (): void => fail(new EngineError(ErrorCode.JoinCanceled, target))
    const timer = clock.setTimeout(
      () =>
        fail(unreachable(target, connectMs === undefined ? 'no TCP answer' : 'no TLS handshake', options)),
      leftMs,
    )
    options.signal?.addEventListener('abort', onAbort, { once: true })
    if (!tunnel) socket.once('connect', () => (connectMs = clock.now() - started))
    // Kept after settling: the new owner adds its own listener, and an error in between must not crash.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!settled) fail(classify(error, target, connectMs))
    })
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true)
      const fingerprint = normalize(cert.fingerprint256 ?? '')
      const expected = pin.fingerprintSha256 && normalize(pin.fingerprintSha256)
      if (expected && fingerprint !== expected) {
        return fail(
          new EngineError(
            ErrorCode.TlsFingerprintMismatch,
            `${target}: expected ${expected}, got ${fingerprint}`,
          ),
        )
      }
      clock.clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      settled = true
      resolve({
        socket,
        connectMs: connectMs ?? clock.now() - started,
        handshakeMs: clock.now() - started,
        fingerprintSha256: fingerprint,
        leafPem: pemOf(cert),
      })
    })
  })
}

/** How to verify: a fingerprint pin alone verifies nothing else (the pin is stronger than any chain). */
function tlsVerifyOptions(host: string, pin: TlsPin): ConnectionOptions {
  const servername = isIP(host) === 0 ? { servername: host } : {}
  if (pin.caPem !== undefined) return { ...servername, ca: pin.caPem, rejectUnauthorized: true }
  if (pin.fingerprintSha256 !== undefined) return { ...servername, rejectUnauthorized: false }
  return { ...servername, rejectUnauthorized: true }
}

function classify(error: NodeJS.ErrnoException, target: string, connectMs: number | undefined): EngineError {
  const code = error.code ?? ''
  if (CERT_ERROR.test(code)) {
    // OpenSSL's code alone ("DEPTH_ZERO_SELF_SIGNED_CERT") says little: Node's words first.
    const detail = `${target}: ${error.message} (${code})`
    return new EngineError(ErrorCode.TlsCertificateUntrusted, detail, { cause: error })
  }
  const stage = connectMs === undefined ? 'TCP connect' : 'TLS handshake'
  // A refusal (RST) or a DNS failure before the connection is not the firewall's doing: say which.
  const known = connectMs === undefined ? netFailureError(error, target) : undefined
  if (known) return known
  return new EngineError(
    ErrorCode.ProxyTlsUnreachable,
    `${target}: ${stage} failed (${code || error.message})`,
    {
      cause: error,
    },
  )
}

function unreachable(target: string, what: string, options: PinnedTlsOptions): EngineError {
  return new EngineError(ErrorCode.ProxyTlsUnreachable, `${target}: ${what} in ${options.timeoutMs} ms`)
}

function pemOf(cert: PeerCertificate): string {
  return cert.raw ? new X509Certificate(cert.raw).toString() : ''
}

/**
 * The `turnTlsOptions` werift passes to `tls.connect` for a `turns:` URL, pinning what the session request
 * pinned. With a fingerprint only, the leaf seen then becomes the trust anchor (partial chains allowed)
 * and the identity check compares fingerprints instead of names.
 */
export function weriftTlsOptions(host: string, pin: TlsPin, leafPem: string): ConnectionOptions {
  const servername = isIP(host) === 0 ? { servername: host } : {}
  if (pin.caPem !== undefined) return { ...servername, ca: pin.caPem }
  const expected = pin.fingerprintSha256
  if (expected === undefined) return servername
  return {
    ...servername,
    ca: leafPem,
    allowPartialTrustChain: true,
    checkServerIdentity: (_name, cert) =>
      normalize(cert.fingerprint256) === normalize(expected)
        ? undefined
        : new Error(`certificate fingerprint ${cert.fingerprint256} is not the pinned ${expected}`),
  }
}
