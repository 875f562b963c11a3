import type { Socket as UdpSocket } from 'node:dgram'
import type { TLSSocket } from 'node:tls'
import type { TransportAddress } from '../../protocol/stun/attributes/address'

/**
 * A TURN allocation made before the PeerConnection (the engine's probe: `HandedTurn` in route/turnProbe.ts),
 * for werift to carry on with (handedRelay.ts). Declared here, where it is used: media does not import route
 * (docs/engine.md "Modules"); the call hands the one to the other, and the compiler checks that they match.
 */
export interface UdpRelayAllocation {
  /** Connected to the TURN server; no listeners left on it. */
  socket: UdpSocket
  target: { host: string; port: number }
  credentials: { username: string; credential: string }
  realm: string
  nonce: string
  relayed: TransportAddress
  mapped: TransportAddress | undefined
  /** Seconds, as the Allocate success response granted. */
  lifetimeS: number
}

/** The same over TURN over TLS: the connection instead of the UDP socket. */
export interface TlsRelayAllocation extends Omit<UdpRelayAllocation, 'socket'> {
  socket: TLSSocket
}
