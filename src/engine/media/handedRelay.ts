import type { Socket as UdpSocket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { TLSSocket } from 'node:tls'
import {
  Candidate,
  StunOverTurnProtocol,
  TurnProtocol,
  candidateFoundation,
  candidatePriority,
  makeIntegrityKey,
  type Address,
  type RTCPeerConnection,
  type Transport,
} from 'werift'
import type { TransportAddress } from '../../protocol/stun/attributes/address'
import type { TlsRelayAllocation as HandedTlsTurn, UdpRelayAllocation as HandedTurn } from './relayAllocation'
import { tlsRelayTransport } from './tlsRelayTransport'
import { sendBesideChannelBind } from './iceFastStart'

/**
 * werift carries on with the TURN allocation the engine's UDP probe made (issue 15: one allocation per
 * join instead of two, and gathering no longer waits for werift's own 401 + Allocate after the offer).
 *
 * werift has no option for an allocation made elsewhere: its ICE agent (`Connection`) creates its TURN
 * client inside `getCandidatePromises` when it gathers (werift 0.25, `lib/ice/src/ice.js`). So the agent of
 * the PeerConnection's one ICE transport (relay only, max-bundle) gets its own `getCandidatePromises` that,
 * on the first gathering, does what werift's does for the relay candidate — register the protocol, append
 * the relay candidate — with a `TurnProtocol` built from the probe's state instead of a fresh allocation
 * (werift's exported class, its fields set as its `connectionMade` would: realm, nonce, integrity key,
 * relayed and mapped address, the refresh loop). Any later gathering (an ICE restart) is werift's own.
 * A werift upgrade that renames these internals fails `e2e/engine/relayHandover.test.ts` (one allocation
 * per UDP join, counted on the proxy), not silently.
 */

/** The parts of werift's ICE agent this uses (public in its JavaScript, not in its types). */
interface IceAgent {
  getCandidatePromises(addresses: string[], timeout?: number): Promise<Candidate | undefined>[]
  ensureProtocol(protocol: StunOverTurnProtocol): void
  appendLocalCandidate(candidate: Candidate): void
  protocols: unknown[]
  generation: number
  localUsername: string
  options: { forceTurn?: boolean }
}

/** What werift's `TurnProtocol.connectionMade` uses after its Allocate (private in its types). */
interface TurnInternals {
  dataReceived(data: Buffer, addr: Address): void
  refresh(lifetimeS: number): void
}

/** werift's TURN client on the probe's socket (UDP, or the TLS connection: step T2) and allocation. */
export function weriftTurn(handed: HandedTurn | HandedTlsTurn): StunOverTurnProtocol {
  const { target, credentials } = handed
  const { transport, endpoint } =
    handed.socket instanceof TLSSocket ? tlsRelayTransport(handed.socket) : udpTransport(handed.socket)
  const server: Address = [target.host, target.port]
  const turn = new TurnProtocol(
    server,
    credentials.username,
    credentials.credential,
    handed.lifetimeS,
    transport,
  )
  const internals = turn as unknown as TurnInternals
  transport.onData = (data, addr) => internals.dataReceived(data, addr)
  turn.realm = handed.realm
  turn.nonce = Buffer.from(handed.nonce)
  turn.integrityKey = makeIntegrityKey(credentials.username, handed.realm, credentials.credential)
  turn.relayedAddress = addressOf(handed.relayed)
  turn.mappedAddress = addressOf(handed.mapped ?? handed.relayed)
  // The server as the socket reaches it: responses come from there (werift pins its endpoint the same way).
  Object.assign(turn, { pinnedServerEndpoint: endpoint, serverEndpointSelection: Promise.resolve(endpoint) })
  internals.refresh(handed.lifetimeS)
  sendBesideChannelBind(turn, endpoint)
  return new StunOverTurnProtocol(turn)
}

/** werift's transport on the UDP probe's connected socket. */
function udpTransport(socket: UdpSocket): { transport: Transport; endpoint: Address } {
  const remote = socket.remoteAddress()
  const transport: Transport = {
    type: 'udp',
    closed: false,
    onData: () => undefined,
    addressFamily: remote.family === 'IPv6' ? 6 : 4,
    get address(): AddressInfo {
      return socket.address()
    },
    // Connected to the TURN server: werift sends nothing anywhere else on this socket.
    send: (data) => new Promise<void>((resolve) => socket.send(data, () => resolve())),
    close: () =>
      new Promise<void>((resolve) => {
        if (transport.closed) return resolve()
        transport.closed = true
        socket.close(() => resolve())
      }),
  }
  // An ICMP error on the connected socket (the proxy went away) is ICE's to notice, as werift's own socket.
  socket.on('error', () => undefined)
  socket.on('message', (data, info) => transport.onData(data, [info.address, info.port]))
  return { transport, endpoint: [remote.address, remote.port] }
}

function addressOf(address: TransportAddress): Address {
  return [address.address, address.port]
}

/**
 * Offers `protocol` to the PeerConnection's ICE agent for its first gathering. Returns a function that
 * closes it if no gathering took it (the PeerConnection closes before the offer came).
 */
export function offerRelay(pc: RTCPeerConnection, protocol: StunOverTurnProtocol): () => Promise<void> {
  let offered = true
  const agents = pc.iceTransports.map((transport) => transport.connection as unknown as IceAgent)
  for (const agent of agents) {
    const own = agent.getCandidatePromises.bind(agent)
    agent.getCandidatePromises = (addresses, timeout) => {
      if (!offered || !agent.options.forceTurn) return own(addresses, timeout)
      offered = false
      return [Promise.resolve(adopt(agent, protocol))]
    }
  }
  return async () => {
    if (!offered) return
    offered = false
    await protocol.close()
  }
}

/** What werift's own gathering does with a TURN client it allocated (relay only: nothing else). */
function adopt(agent: IceAgent, protocol: StunOverTurnProtocol): Candidate {
  agent.ensureProtocol(protocol)
  agent.protocols.push(protocol)
  const [host, port] = protocol.turn.relayedAddress
  const [relatedHost, relatedPort] = protocol.turn.mappedAddress
  const candidate = new Candidate(
    candidateFoundation('relay', 'udp', host),
    1,
    'udp',
    candidatePriority('relay'),
    host,
    port,
    'relay',
    relatedHost,
    relatedPort,
    undefined,
    agent.generation,
    agent.localUsername,
  )
  protocol.localCandidate = candidate
  agent.appendLocalCandidate(candidate)
  return candidate
}
