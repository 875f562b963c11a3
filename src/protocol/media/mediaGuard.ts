import type { RTCDtlsTransport, RTCPeerConnection } from 'werift'
import { Method } from '../stun/constants'
import { decodeMessage, getAttr, verifyIntegrity } from '../stun/message'

/**
 * A runtime guard around werift's (0.25) media path, for the conference server's PeerConnections and the
 * engine's (docs/sfu.md "Media path guard"). Without it, anyone who can reach a media port can end a
 * call's media for good while the PeerConnection keeps reporting "connected":
 *
 * - werift's ICE layer hands every non-STUN datagram to DTLS/SRTP, whatever address it came from
 *   (`StunProtocol.datagramReceived` → `Connection.onData` carries no address), also after a pair has been
 *   selected. For a TURN allocation, a ChannelData frame from any source is taken as the server's.
 * - werift's DTLS then acts on records nobody authenticated: an unencrypted alert, or any record of an
 *   unknown content type, closes the DTLS transport (its senders stop: `readyToSend` needs "connected"),
 *   and an unencrypted ClientHello resets the established session (`renegotiation()`).
 *
 * - werift's ICE agent does not check an incoming Binding request's USERNAME or MESSAGE-INTEGRITY, and
 *   the ICE-lite server takes the first USE-CANDIDATE it sees: a forged check sent before the client's
 *   becomes the media path.
 *
 * The guard (1) drops STUN Binding requests that do not carry our ufrag and a MESSAGE-INTEGRITY under our
 * ICE password (RFC 8445 §7.3), (2) drops every non-STUN datagram that does not come from the selected
 * pair's remote address once ICE has selected one, and (3) once the DTLS handshake is done, passes on only
 * records of a known content type, from the current epoch, that decrypt and authenticate with the
 * session's keys. What it drops, it counts.
 *
 * werift has no hooks for this, so the guard replaces methods on werift's objects at run time, where werift
 * itself calls them through `this` (a patch of node_modules would be undone by every install).
 * `mediaGuard.test.ts` pins the werift internals it relies on, so an upgrade that moves them fails there.
 */

export type DtlsDropReason = 'malformed' | 'unknown_type' | 'plaintext' | 'unauthenticated'

export interface MediaGuardCounters {
  /** A STUN Binding request without our ufrag or a valid MESSAGE-INTEGRITY, dropped before werift's ICE. */
  stunRejected(from: readonly [host: string, port: number]): void
  /** A non-STUN datagram from an address other than the selected pair's, dropped before DTLS/SRTP. */
  foreignDatagram(from: readonly [host: string, port: number]): void
  /** A DTLS record dropped after the handshake (the association stays up). */
  dtlsRecordDropped(reason: DtlsDropReason): void
}

type Address = readonly [string, number]
type DatagramHandler = (data: Buffer, addr: Address) => void

/** The werift internals the guard touches (see mediaGuard.test.ts). */
interface IceProtocol {
  type: string
  localCandidate?: { port: number }
  datagramReceived?: DatagramHandler
  handleStunMessage?: DatagramHandler
  turn?: TurnProtocol
}
interface TurnProtocol {
  transport: { type?: string; closed?: boolean }
  serverEndpoint?: Address
  dataReceived: DatagramHandler
}
interface IceConnection {
  nominated?: { protocol: IceProtocol; remoteAddr: Address }
  protocols: IceProtocol[]
  localUsername: string
  localPassword: string
  /** Earlier ufrags and their passwords, after an ICE restart. */
  userHistory?: Record<string, string>
}
interface DtlsRecordHeader {
  contentType: number
  protocolVersion: { major: number; minor: number }
  epoch: number
  sequenceNumber: number
  contentLen: number
}
interface DtlsSocketInternals {
  connected: boolean
  cipher: { decryptPacket(packet: { recordLayerHeader: DtlsRecordHeader; fragment: Buffer }): Buffer }
  transport: { socket: { onData: (data: Buffer) => void } }
}

const STUN_MAGIC_COOKIE = 0x2112a442
/** The STUN message type of a Binding request: method 1, class bits 00 (RFC 8489 §5). */
const BINDING_REQUEST = Method.Binding
const RECORD_HEADER_BYTES = 13
/** change_cipher_spec, alert, handshake, application_data (RFC 6347 §4.1). */
const FIRST_CONTENT_TYPE = 20
const LAST_CONTENT_TYPE = 23

export function isStunDatagram(data: Buffer): boolean {
  return data.length >= 20 && (data[0]! & 0xc0) === 0 && data.readUInt32BE(4) === STUN_MAGIC_COOKIE
}

/**
 * A Binding request werift must not act on: not for our ufrag, or without a MESSAGE-INTEGRITY that
 * verifies with our ICE password (the short-term credential, RFC 8445 §7.2.2). Other STUN (responses,
 * which werift checks against its own transactions; indications) is not judged here.
 */
function unauthenticRequest(connection: IceConnection, data: Buffer): boolean {
  if (data.readUInt16BE(0) !== BINDING_REQUEST) return false
  const decoded = decodeMessage(data)
  if (!decoded.ok) return true
  const { message } = decoded
  const ufrag = getAttr(message, 'USERNAME')?.split(':')[0]
  if (ufrag === undefined) return true
  const password =
    ufrag === connection.localUsername ? connection.localPassword : connection.userHistory?.[ufrag]
  return password === undefined || !verifyIntegrity(message, Buffer.from(password, 'utf8'))
}

function sameAddress(a: Address, b: Address): boolean {
  return a[1] === b[1] && (a[0] === b[0] || normalizeHost(a[0]) === normalizeHost(b[0]))
}

function normalizeHost(host: string): string {
  const lower = host.toLowerCase()
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower
}

export class MediaGuard {
  private readonly guarded = new WeakSet<object>()
  private readonly unsubscribes: (() => void)[] = []
  private inbound = 0

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly counters: MediaGuardCounters,
  ) {
    // Protocols exist once gathering ran, the pair once ICE connected, the DTLS socket once it started:
    // every state change looks for what is new (each object is wrapped once).
    const install = (): void => this.install()
    this.unsubscribes.push(
      pc.iceConnectionStateChange.subscribe(install).unSubscribe,
      pc.connectionStateChange.subscribe(install).unSubscribe,
      pc.iceGatheringStateChange.subscribe(install).unSubscribe,
    )
    this.install()
  }

  /** SRTP and SRTCP packets that decrypted and authenticated, since the start. */
  get inboundPackets(): number {
    return this.inbound
  }

  /** The local UDP port of the media socket (the server's: where its participant's media arrives). */
  get mediaPort(): number | undefined {
    for (const transport of this.pc.dtlsTransports) {
      for (const protocol of connectionOf(transport).protocols) {
        if (protocol.type === 'stun' && protocol.localCandidate) return protocol.localCandidate.port
      }
    }
    return undefined
  }

  /**
   * werift reports the PeerConnection "connected" while its DTLS transport is not (closed by an alert):
   * nothing can be sent any more, and werift never says so.
   */
  get dtlsDown(): boolean {
    if (this.pc.connectionState !== 'connected') return false
    return this.pc.dtlsTransports.some((t) => t.state === 'closed' || t.state === 'failed')
  }

  install(): void {
    for (const transport of this.pc.dtlsTransports) {
      const connection = connectionOf(transport)
      for (const protocol of connection.protocols) this.guardProtocol(connection, protocol)
      this.guardDtls(transport)
    }
  }

  dispose(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe()
  }

  /** Datagrams from anywhere but the selected pair's remote address stop here (STUN excepted). */
  private guardProtocol(connection: IceConnection, protocol: IceProtocol): void {
    if (this.guarded.has(protocol)) return
    const foreign = (data: Buffer, addr: Address): boolean => {
      if (isStunDatagram(data)) {
        if (!unauthenticRequest(connection, data)) return false
        this.counters.stunRejected(addr)
        return true
      }
      const pair = connection.nominated
      if (!pair) return false
      if (pair.protocol === protocol && sameAddress(pair.remoteAddr, addr)) return false
      this.counters.foreignDatagram(addr)
      return true
    }
    if (protocol.type === 'stun' && typeof protocol.datagramReceived === 'function') {
      this.guarded.add(protocol)
      const original = protocol.datagramReceived.bind(protocol)
      protocol.datagramReceived = (data, addr) => {
        if (!foreign(data, addr)) original(data, addr)
      }
    } else if (protocol.type === 'turn' && typeof protocol.handleStunMessage === 'function') {
      this.guarded.add(protocol)
      const original = protocol.handleStunMessage.bind(protocol)
      // `addr` is the peer the TURN server relayed from (its channel or XOR-PEER-ADDRESS).
      protocol.handleStunMessage = (data, addr) => {
        if (!foreign(data, addr)) original(data, addr)
      }
      if (protocol.turn) this.guardTurnSocket(protocol.turn)
    }
  }

  /** Over UDP, only the TURN server's own datagrams are TURN (a stream has a single peer already). */
  private guardTurnSocket(turn: TurnProtocol): void {
    if (this.guarded.has(turn) || typeof turn.dataReceived !== 'function') return
    this.guarded.add(turn)
    const original = turn.dataReceived.bind(turn)
    turn.dataReceived = (data, addr) => {
      const server = turn.serverEndpoint
      const stream = turn.transport.type === 'tcp' || turn.transport.type === 'tls'
      if (!stream && server && !sameAddress(server, addr)) {
        this.counters.foreignDatagram(addr)
        return
      }
      original(data, addr)
    }
  }

  private guardDtls(transport: RTCDtlsTransport): void {
    if (!this.guarded.has(transport)) {
      this.guarded.add(transport)
      const seen = (): void => void this.inbound++
      this.unsubscribes.push(
        transport.onRtp.subscribe(seen).unSubscribe,
        transport.onRtcp.subscribe(seen).unSubscribe,
      )
    }
    const socket = transport.dtls as unknown as DtlsSocketInternals | undefined
    if (!socket || this.guarded.has(socket)) return
    this.guarded.add(socket)
    const ice = socket.transport.socket
    const original = ice.onData
    ice.onData = (data) => {
      if (!socket.connected) return original(data)
      const accepted = this.acceptedRecords(socket, data)
      if (accepted) original(accepted)
    }
  }

  /**
   * After the handshake: the records of `data` that belong to the association (the rest counted and
   * dropped), or undefined when none does. Epoch 0 records (plaintext) are only a peer's retransmitted
   * handshake by then, which werift ignores once connected, or a forgery.
   */
  private acceptedRecords(socket: DtlsSocketInternals, data: Buffer): Buffer | undefined {
    const accepted: Buffer[] = []
    let offset = 0
    while (offset < data.length) {
      if (data.length - offset < RECORD_HEADER_BYTES) return this.drop('malformed', accepted)
      const header: DtlsRecordHeader = {
        contentType: data[offset]!,
        protocolVersion: { major: data[offset + 1]!, minor: data[offset + 2]! },
        epoch: data.readUInt16BE(offset + 3),
        sequenceNumber: data.readUIntBE(offset + 5, 6),
        contentLen: data.readUInt16BE(offset + 11),
      }
      const end = offset + RECORD_HEADER_BYTES + header.contentLen
      if (end > data.length) return this.drop('malformed', accepted)
      const record = data.subarray(offset, end)
      offset = end
      const reason = this.checkRecord(socket, header, record.subarray(RECORD_HEADER_BYTES))
      if (reason) this.counters.dtlsRecordDropped(reason)
      else accepted.push(record)
    }
    return accepted.length === 0 ? undefined : Buffer.concat(accepted)
  }

  private checkRecord(
    socket: DtlsSocketInternals,
    header: DtlsRecordHeader,
    fragment: Buffer,
  ): DtlsDropReason | undefined {
    if (header.contentType < FIRST_CONTENT_TYPE || header.contentType > LAST_CONTENT_TYPE)
      return 'unknown_type'
    if (header.epoch === 0) return 'plaintext'
    try {
      // AEAD: decryption fails unless the record was sealed with the peer's key for this header.
      socket.cipher.decryptPacket({ recordLayerHeader: header, fragment })
      return undefined
    } catch {
      return 'unauthenticated'
    }
  }

  private drop(reason: DtlsDropReason, accepted: Buffer[]): Buffer | undefined {
    this.counters.dtlsRecordDropped(reason)
    return accepted.length === 0 ? undefined : Buffer.concat(accepted)
  }
}

function connectionOf(transport: RTCDtlsTransport): IceConnection {
  return transport.iceTransport.connection as unknown as IceConnection
}

export type StallCause = 'dtls' | 'silent'

/** What the watch needs of a clock (the engine's injectable Clock has this shape). */
export interface StallClock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemStallClock: StallClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export interface MediaStallWatchOptions {
  guard: MediaGuard
  /** The PeerConnection says "connected". */
  connected: () => boolean
  /** Silence (no SRTP or SRTCP at all) this long while connected is a stall. */
  stallMs: number
  stalled: (cause: StallCause) => void
  clock?: StallClock
}

/**
 * Finds a media path that is dead while werift still says "connected": its DTLS transport is down, or
 * nothing arrived for `stallMs` after something had. RTCP counts, not only RTP: werift's senders and
 * receivers send reports every 0.5–1.5 s for good once they have sent or received RTP, while RTP itself
 * may pause (a publisher with nothing to send). Reports `stalled` once, then stops.
 */
export class MediaStallWatch {
  private timer: unknown
  private readonly clock: StallClock
  private readonly checkMs: number
  private lastCount = 0
  private lastChange: number
  private stopped = false

  constructor(private readonly options: MediaStallWatchOptions) {
    this.clock = options.clock ?? systemStallClock
    this.checkMs = Math.max(10, Math.min(1000, Math.floor(options.stallMs / 4)))
    this.lastChange = this.clock.now()
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    this.clock.clearTimeout(this.timer)
  }

  private schedule(): void {
    if (!this.stopped) this.timer = this.clock.setTimeout(() => this.check(), this.checkMs)
  }

  private check(): void {
    const { guard, connected, stallMs } = this.options
    const now = this.clock.now()
    const count = guard.inboundPackets
    let cause: StallCause | undefined
    if (!connected() || count !== this.lastCount) {
      this.lastCount = count
      this.lastChange = now
    } else if (count > 0 && now - this.lastChange >= stallMs) {
      cause = 'silent'
    }
    // Inbound SRTP may go on while nothing can be sent: DTLS down is checked on every tick.
    if (connected() && guard.dtlsDown) cause = 'dtls'
    if (!cause) return this.schedule()
    this.stop()
    this.options.stalled(cause)
  }
}
