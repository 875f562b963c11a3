import type { RTCDtlsTransport, RTCPeerConnection } from 'werift'
import { Method, StunClass } from '../../protocol/stun/constants'
import {
  decodeMessage,
  getAttr,
  looksLikeStun,
  verifyIntegrity,
  type DecodedMessage,
} from '../../protocol/stun/message'

/**
 * A conference server PeerConnection takes DTLS and media only from an address that sent it an
 * authenticated connectivity check, and keeps a ClientHello that comes right behind that check until its
 * DTLS server listens (issue 15, docs/engine.md "Join round trips" step 9).
 *
 * The engine sends its ClientHello right behind its check (`src/engine/media/dtlsBesideCheck.ts`, RFC 8445
 * §12.1): it reaches the server before werift has started the DTLS server, which werift does only once
 * ICE is connected, and werift's ICE drops non-STUN data nobody listens for — the client would retransmit
 * 0.5 s later. werift's ICE also passes non-STUN data on from any source address, checked or not (werift
 * 0.25, `StunProtocol.datagramReceived`), and it answers — and as a lite agent nominates on — checks
 * whose MESSAGE-INTEGRITY it never verifies (`Connection.checkIncoming`). So, on werift's own objects (no patch), each UDP socket of the PeerConnection's ICE agents:
 *
 * - answers (through werift) only the Binding requests that verify with the agent's password (only the
 *   signalled peer has it), and marks their source address;
 * - drops non-STUN datagrams from every other address (a ClientHello from elsewhere on the relay is
 *   ignored, as is media);
 * - keeps up to `EARLY_DTLS_MAX` DTLS datagrams from a marked address while no DTLS server listens and
 *   hands them to the DTLS server werift starts once ICE is connected.
 */

/** What a client sends before the server's first flight: its ClientHello (fragments, retransmissions). */
const EARLY_DTLS_MAX = 8

/** werift's ICE agent (`Connection`) and its UDP protocol: public in its JavaScript, not in its types. */
interface IceAgent {
  localPassword: string
  /** The passwords of earlier ICE generations, by their ufrag (werift answers those too). */
  userHistory: Record<string, string>
  protocols: IceProtocol[]
}

interface IceProtocol {
  datagramReceived?: (data: Buffer, addr: [string, number]) => void
  onDataReceived: { execute(data: Buffer): void }
}

/** RFC 7983: a first byte of 20–63 is DTLS. */
const isDtls = (data: Buffer): boolean => data.length > 0 && data[0]! >= 20 && data[0]! <= 63

/** Installs the gate on `pc`'s ICE sockets as werift binds them (in setLocalDescription, before any offer). */
export function gateDtlsOnChecks(pc: RTCPeerConnection): void {
  const internals = pc as unknown as { setLocalDescription: (...args: unknown[]) => Promise<unknown> }
  const setLocal = internals.setLocalDescription.bind(pc)
  const gated = new WeakSet<IceProtocol>()
  internals.setLocalDescription = async (...args) => {
    const description = await setLocal(...args)
    for (const transport of pc.dtlsTransports) {
      const agent = transport.iceTransport.connection as unknown as IceAgent
      for (const protocol of agent.protocols) {
        if (gated.has(protocol) || typeof protocol.datagramReceived !== 'function') continue
        gated.add(protocol)
        gate(protocol, agent, transport)
      }
    }
    return description
  }
}

function gate(protocol: IceProtocol, agent: IceAgent, transport: RTCDtlsTransport): void {
  const own = protocol.datagramReceived!.bind(protocol)
  const checked = new Set<string>()
  const early: Buffer[] = []
  protocol.datagramReceived = (data, addr) => {
    const from = `${addr[0]} ${addr[1]}`
    if (looksLikeStun(data)) {
      const check = bindingRequest(data)
      if (!check) return own(data, addr)
      // RFC 8445 §7.3 / RFC 8489 §9.1.3: a check that does not verify is not answered (werift would, and
      // would nominate its address on USE-CANDIDATE).
      if (!verifyIntegrity(check, Buffer.from(passwordFor(check, agent), 'utf8'))) return
      checked.add(from)
      return own(data, addr)
    }
    if (!checked.has(from)) return
    if (transport.dtls || !isDtls(data)) return own(data, addr)
    if (early.length === 0) handOnceListening(transport, () => early.splice(0), protocol)
    if (early.length < EARLY_DTLS_MAX) early.push(data)
  }
}

/** The password the check's USERNAME (`<our ufrag>:<theirs>`) names, as werift picks it. */
function passwordFor(check: DecodedMessage, agent: IceAgent): string {
  const ufrag = (getAttr(check, 'USERNAME') ?? '').split(':')[0] ?? ''
  return agent.userHistory[ufrag] ?? agent.localPassword
}

/** A Binding request, decoded. */
function bindingRequest(data: Buffer): DecodedMessage | undefined {
  const decoded = decodeMessage(data)
  if (!decoded.ok || decoded.message.method !== Method.Binding) return
  return decoded.message.cls === StunClass.Request ? decoded.message : undefined
}

/**
 * werift creates its DTLS server synchronously in `start()`, once ICE is connected; the datagrams kept go
 * to it after the call (and after `dtlsFastStart.ts` has installed itself on that server).
 */
function handOnceListening(transport: RTCDtlsTransport, take: () => Buffer[], protocol: IceProtocol): void {
  const start = transport.start.bind(transport)
  transport.start = () => {
    transport.start = start
    const started = start()
    queueMicrotask(() => {
      for (const data of take()) protocol.onDataReceived.execute(data)
    })
    return started
  }
}
