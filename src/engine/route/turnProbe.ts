import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { isIP } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { TransportAddress } from '../../protocol/stun/attributes/address'
import { Method, StunClass, TRANSPORT_UDP } from '../../protocol/stun/constants'
import {
  decodeMessage,
  encodeMessage,
  getAttr,
  longTermKey,
  newTransactionId,
  verifyIntegrity,
  type Attribute,
  type DecodedMessage,
} from '../../protocol/stun/message'
import { TcpFramer } from '../../protocol/turn/framing'
import { EngineError, ErrorCode } from '../../shared/errors'
import { ENGINE_DEFAULTS, systemClock, type Clock } from '../defaults'
import type { HttpProxyConfig } from './httpProxy'
import { netFailureError } from './netFailure'
import { connectPinnedTls, type PinnedTls, type TlsPin } from './tlsPin'

/**
 * A TURN Allocate probe (RFC 8656 §7) over UDP or TLS: proves that a port is open and that the session's
 * credentials work on it, then releases the allocation with a Refresh of lifetime 0 (§7.2) — unless it is
 * handed to werift (`handover`, route/relayHandover.ts), which then carries on with it instead of
 * allocating again. Long-term credentials (RFC 8489 §9.2): the first Allocate is answered 401
 * with REALM and NONCE, the second carries MESSAGE-INTEGRITY; 438 (stale nonce) is retried once. With the
 * realm and nonce of the session answer the first Allocate already carries MESSAGE-INTEGRITY.
 */

export interface TurnTarget {
  transport: 'udp' | 'tls'
  host: string
  port: number
}

export interface TurnCredentials {
  username: string
  credential: string
  /** From the session answer: the first Allocate carries them instead of waiting for a 401 (issue 15). */
  realm?: string
  nonce?: string
}

export interface AllocateOptions {
  /** The whole allocation (TLS handshake included); past it the port counts as unreachable. */
  timeoutMs: number
  /** Required for TLS. */
  pin?: TlsPin
  /** Error code for "no answer" (per whitelisted port). Default by transport. */
  unreachableCode?: ErrorCode
  retransmitMs?: number
  releaseTimeoutMs?: number
  signal?: AbortSignal
  clock?: Clock
  /** TLS only: through a corporate HTTP CONNECT proxy. */
  httpProxy?: HttpProxyConfig
  /** TLS only: a pinned connection already made (route/preconnect.ts); undefined → a new one. */
  connected?: Promise<PinnedTls | undefined>
}

export interface TurnAllocation {
  target: TurnTarget
  relayed: TransportAddress | undefined
  /** From the start of allocateTurn to the success response. */
  elapsedMs: number
  /** Refresh lifetime 0, then closes the socket. Resolves false when the proxy did not confirm. */
  release(): Promise<boolean>
  /**
   * The socket and the credentials' state, for werift to keep the allocation (refreshes, permissions,
   * data). The probe lets go of both: `release` then does nothing. Undefined once released; absent from an
   * injected allocator's (werift then allocates its own). `handover` for UDP, `handoverTls` for TURN over
   * TLS (the TLS connection); each undefined for the other transport.
   */
  handover?(): HandedTurn | undefined
  handoverTls?(): HandedTlsTurn | undefined
}

/** An allocation the probe made, as werift's TurnProtocol needs it (media/handedRelay.ts). */
export interface HandedTurn {
  /** Connected to the TURN server; no listeners left on it. */
  socket: UdpSocket
  target: TurnTarget
  credentials: TurnCredentials
  realm: string
  nonce: string
  relayed: TransportAddress
  mapped: TransportAddress | undefined
  /** Seconds, as the Allocate success response granted. */
  lifetimeS: number
}

/** The same over TLS: the pinned TLS connection the allocation lives on. */
export interface HandedTlsTurn extends Omit<HandedTurn, 'socket'> {
  socket: TLSSocket
}

interface Wire {
  send(data: Buffer): void
  close(): void
  reliable: boolean
}

type Waiter = (message: DecodedMessage) => void

/** RFC 8656 §7.2's default, for an answer without LIFETIME. */
const DEFAULT_LIFETIME_S = 600

export async function allocateTurn(
  target: TurnTarget,
  credentials: TurnCredentials,
  options: AllocateOptions,
): Promise<TurnAllocation> {
  const clock = options.clock ?? systemClock
  const started = clock.now()
  const deadline = new AbortController()
  const timer = clock.setTimeout(() => deadline.abort(), options.timeoutMs)
  const signals = [deadline.signal, ...(options.signal ? [options.signal] : [])]
  const client = new TurnProbeClient(target, credentials, options, clock, AbortSignal.any(signals))
  try {
    await client.open()
    const relayed = await client.allocate()
    const elapsedMs = clock.now() - started
    return {
      target,
      relayed,
      elapsedMs,
      release: () => client.release(),
      handover: () => client.handover('udp'),
      handoverTls: () => client.handover('tls'),
    }
  } catch (error) {
    client.close()
    if (options.signal?.aborted)
      throw new EngineError(ErrorCode.JoinCanceled, describe(target), { cause: error })
    throw error
  } finally {
    clock.clearTimeout(timer)
  }
}

function describe(target: TurnTarget): string {
  return `${target.transport.toUpperCase()} ${target.host}:${target.port}`
}

class TurnProbeClient {
  private wire: Wire | undefined
  private udp: UdpSocket | undefined
  private tls: TLSSocket | undefined
  private granted: DecodedMessage | undefined
  private handedOver = false
  private readonly waiters = new Map<string, Waiter>()
  private realm: string | undefined
  private nonce: string | undefined
  private key: Buffer | undefined
  private socketError: EngineError | undefined
  private onSocketError: ((error: EngineError) => void) | undefined

  constructor(
    private readonly target: TurnTarget,
    private readonly credentials: TurnCredentials,
    private readonly options: AllocateOptions,
    private readonly clock: Clock,
    private readonly signal: AbortSignal,
  ) {}

  private unreachable(detail: string): EngineError {
    const code =
      this.options.unreachableCode ??
      (this.target.transport === 'udp' ? ErrorCode.ProxyUdpUnreachable : ErrorCode.ProxyTlsUnreachable)
    return new EngineError(code, `${describe(this.target)}: ${detail}`)
  }

  /** A refusal or a DNS failure by name (not the firewall's doing); anything else is "unreachable". */
  private failure(error: Error): EngineError {
    const { transport, host, port } = this.target
    const refusal = transport === 'udp' ? 'UDP port closed (ICMP port unreachable)' : 'connection refused'
    return netFailureError(error, `${host}:${port}`, refusal) ?? this.unreachable(error.message)
  }

  async open(): Promise<void> {
    const { host, port } = this.target
    if (this.target.transport === 'udp') {
      const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4')
      socket.on('message', (data: Buffer) => this.receive(data))
      // A connected UDP socket reports ICMP port-unreachable as ECONNREFUSED: nothing listens there.
      socket.on('error', (error: NodeJS.ErrnoException) => this.fail(this.failure(error)))
      // Set before connecting, so that close() after a failed connect closes the socket.
      this.wire = { send: (data) => socket.send(data), close: () => socket.close(), reliable: false }
      this.udp = socket
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(this.failure(error))
        socket.once('error', onError)
        // A failed lookup comes to this callback, not to 'error': sending then would throw
        // ERR_SOCKET_BAD_PORT (issue 10 item 8).
        socket.connect(port, host, (error?: Error) => {
          socket.off('error', onError)
          if (error) reject(this.failure(error))
          else resolve()
        })
      })
      return
    }
    const tls =
      (await this.options.connected) ??
      (await connectPinnedTls(host, port, this.options.pin ?? {}, {
        timeoutMs: this.options.timeoutMs,
        alpn: ['stun.turn'],
        clock: this.clock,
        ...(this.options.httpProxy ? { httpProxy: this.options.httpProxy } : {}),
        // The caller's signal only: the allocation deadline is the handshake's own timeout (same budget).
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      }))
    const framer = new TcpFramer({ maxFrameBytes: 65_535 + 20 })
    tls.socket.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk, this.clock.now()).frames) this.receive(frame)
    })
    tls.socket.on('error', (error) => this.fail(this.unreachable(error.message)))
    tls.socket.on('close', () => this.fail(this.unreachable('connection closed by the proxy')))
    this.wire = { send: (data) => tls.socket.write(data), close: () => tls.socket.destroy(), reliable: true }
    this.tls = tls.socket
  }

  private fail(error: EngineError): void {
    this.socketError ??= error
    this.onSocketError?.(error)
  }

  private receive(data: Buffer): void {
    const decoded = decodeMessage(data)
    if (!decoded.ok) return
    this.waiters.get(decoded.message.transactionId.toString('hex'))?.(decoded.message)
  }

  /** One transaction, retransmitted over UDP with doubling intervals until answered or aborted. */
  private transact(method: number, attributes: Attribute[], signal: AbortSignal): Promise<DecodedMessage> {
    const transactionId = newTransactionId()
    const attrs = [...attributes]
    if (this.key) {
      attrs.push(
        { name: 'USERNAME', value: this.credentials.username },
        { name: 'REALM', value: this.realm! },
        { name: 'NONCE', value: this.nonce! },
      )
    }
    const data = encodeMessage(
      { cls: StunClass.Request, method, transactionId, attributes: attrs },
      { integrityKey: this.key, fingerprint: true },
    )
    const id = transactionId.toString('hex')
    return new Promise((resolve, reject) => {
      let interval = this.options.retransmitMs ?? ENGINE_DEFAULTS.turn.udpRetransmitMs
      let resend: unknown
      const done = (): void => {
        this.clock.clearTimeout(resend)
        this.waiters.delete(id)
        signal.removeEventListener('abort', onAbort)
        this.onSocketError = undefined
      }
      const onAbort = (): void => {
        done()
        reject(this.unreachable(`no answer to ${method === Method.Refresh ? 'Refresh' : 'Allocate'}`))
      }
      if (this.socketError) return reject(this.socketError)
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.onSocketError = (error) => {
        done()
        reject(error)
      }
      this.waiters.set(id, (message) => {
        done()
        resolve(message)
      })
      const transmit = (): void => {
        this.wire?.send(data)
        if (this.wire?.reliable) return
        resend = this.clock.setTimeout(transmit, interval)
        interval *= 2
      }
      transmit()
    })
  }

  async allocate(): Promise<TransportAddress | undefined> {
    const request: Attribute[] = [{ name: 'REQUESTED_TRANSPORT', value: TRANSPORT_UDP }]
    const { username, credential, realm: givenRealm, nonce: givenNonce } = this.credentials
    // The session's realm and nonce: authenticated at once. Should the proxy not take them (another
    // address, stale), its 401 or 438 brings fresh ones, as without.
    let presumed = givenRealm !== undefined && givenNonce !== undefined
    if (presumed) {
      this.realm = givenRealm
      this.nonce = givenNonce
      this.key = longTermKey(username, givenRealm!, credential)
    }
    let answer = await this.transact(Method.Allocate, request, this.signal)
    for (let attempt = 0; attempt < 2 && answer.cls === StunClass.ErrorResponse; attempt++) {
      const code = getAttr(answer, 'ERROR_CODE')?.code
      const realm = getAttr(answer, 'REALM')
      const nonce = getAttr(answer, 'NONCE')
      const challenge = (code === 401 && (this.key === undefined || presumed)) || code === 438
      presumed = false
      if (!challenge || nonce === undefined || (realm ?? this.realm) === undefined) break
      this.realm = realm ?? this.realm
      this.nonce = nonce
      this.key = longTermKey(this.credentials.username, this.realm!, this.credentials.credential)
      answer = await this.transact(Method.Allocate, request, this.signal)
    }
    if (answer.cls !== StunClass.SuccessResponse) {
      const error = getAttr(answer, 'ERROR_CODE')
      const why = error ? `${error.code} ${error.reason}` : 'unexpected answer'
      throw new EngineError(ErrorCode.TurnAllocationRefused, `${describe(this.target)}: ${why}`)
    }
    if (!this.key || !verifyIntegrity(answer, this.key)) {
      throw new EngineError(
        ErrorCode.TurnAllocationRefused,
        `${describe(this.target)}: answer fails integrity`,
      )
    }
    this.granted = answer
    // An Allocate made without one of the server's nonces (a join token's over TLS) is answered with one.
    this.nonce = getAttr(answer, 'NONCE') ?? this.nonce
    return getAttr(answer, 'XOR_RELAYED_ADDRESS')
  }

  handover(transport: 'udp'): HandedTurn | undefined
  handover(transport: 'tls'): HandedTlsTurn | undefined
  handover(transport: 'udp' | 'tls'): HandedTurn | HandedTlsTurn | undefined {
    const { granted, wire } = this
    const socket = transport === 'udp' ? this.udp : this.tls
    const relayed = granted && getAttr(granted, 'XOR_RELAYED_ADDRESS')
    if (!socket || !wire || !relayed || !this.realm || !this.nonce) return undefined
    this.wire = undefined
    this.handedOver = true
    this.waiters.clear()
    // Nothing of the probe's stays on it: werift's TURN client reads and writes it from now on (over TLS
    // the connection carries only whole frames here: the server sends nothing it was not asked for).
    for (const event of ['message', 'data', 'error', 'close']) socket.removeAllListeners(event)
    const state = {
      target: this.target,
      credentials: this.credentials,
      realm: this.realm,
      nonce: this.nonce,
      relayed,
      mapped: getAttr(granted, 'XOR_MAPPED_ADDRESS'),
      lifetimeS: getAttr(granted, 'LIFETIME') ?? DEFAULT_LIFETIME_S,
    }
    return this.udp ? { ...state, socket: this.udp } : { ...state, socket: socket as TLSSocket }
  }

  async release(): Promise<boolean> {
    // werift has it now: releasing it is werift's (it closes the socket with the PeerConnection).
    if (this.handedOver) return true
    const timeoutMs = this.options.releaseTimeoutMs ?? ENGINE_DEFAULTS.turn.releaseTimeoutMs
    const deadline = new AbortController()
    const timer = this.clock.setTimeout(() => deadline.abort(), timeoutMs)
    try {
      let answer = await this.transact(Method.Refresh, [{ name: 'LIFETIME', value: 0 }], deadline.signal)
      const nonce = getAttr(answer, 'NONCE')
      if (getAttr(answer, 'ERROR_CODE')?.code === 438 && nonce !== undefined) {
        this.nonce = nonce
        answer = await this.transact(Method.Refresh, [{ name: 'LIFETIME', value: 0 }], deadline.signal)
      }
      return answer.cls === StunClass.SuccessResponse
    } catch (error) {
      if (error instanceof EngineError) return false
      throw error
    } finally {
      this.clock.clearTimeout(timer)
      this.close()
    }
  }

  close(): void {
    const wire = this.wire
    this.wire = undefined
    this.waiters.clear()
    wire?.close()
  }
}
