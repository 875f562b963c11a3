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
 * A conference server PeerConnection keeps a ClientHello that comes right behind an authenticated
 * connectivity check, before its DTLS server listens, and hands it over once it does (issue 15,
 * docs/engine.md "Join round trips" step 9).
 *
 * The engine sends its ClientHello right behind its check (`src/engine/media/dtlsBesideCheck.ts`, RFC 8445
 * §12.1). werift (0.25) starts the server's DTLS transport only once ICE is connected, which on the
 * ICE-lite server needs the answer — itself on its way over signaling while the check and the ClientHello
 * cross the relay — and until then its ICE drops DTLS nobody listens for: the client would retransmit 0.5 s
 * later. So each UDP socket of the PeerConnection's ICE agents (on werift's own objects, no patch):
 *
 * - notes the addresses whose Binding request verifies with the agent's password (only the signalled peer
 *   has it; `MediaGuard` drops the others before werift, this only looks);
 * - keeps up to `EARLY_DTLS_MAX` DTLS datagrams from such an address while no DTLS server listens;
 * - hands them to the DTLS server werift starts, if they came from the pair ICE selected (`MediaGuard`'s
 *   rule for every non-STUN datagram once a pair is selected). A ClientHello from any other address or port
 *   is not kept: it reaches werift, which drops it, as before.
 */

/** What a client sends before the server's first flight: its ClientHello (fragments, retransmissions). */
const EARLY_DTLS_MAX = 8

type Address = [string, number]

/** werift's ICE agent (`Connection`) and its UDP protocol: public in its JavaScript, not in its types. */
interface IceAgent {
  nominated?: { protocol: IceProtocol; remoteAddr: Address }
  localPassword: string
  /** The passwords of earlier ICE generations, by their ufrag (werift answers those too). */
  userHistory: Record<string, string>
  protocols: IceProtocol[]
}

interface IceProtocol {
  datagramReceived?: (data: Buffer, addr: Address) => void
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
  const early: { data: Buffer; from: Address }[] = []
  protocol.datagramReceived = (data, addr) => {
    if (transport.dtls) return own(data, addr)
    const from = `${addr[0]} ${addr[1]}`
    if (looksLikeStun(data)) {
      const check = bindingRequest(data)
      if (check && verifyIntegrity(check, Buffer.from(passwordFor(check, agent), 'utf8'))) checked.add(from)
    } else if (isDtls(data) && checked.has(from)) {
      if (early.length === 0) handOnceListening(transport, agent, protocol, () => early.splice(0))
      if (early.length < EARLY_DTLS_MAX) early.push({ data, from: addr })
      return
    }
    return own(data, addr)
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
function handOnceListening(
  transport: RTCDtlsTransport,
  agent: IceAgent,
  protocol: IceProtocol,
  take: () => { data: Buffer; from: Address }[],
): void {
  const start = transport.start.bind(transport)
  transport.start = () => {
    transport.start = start
    const started = start()
    queueMicrotask(() => {
      const selected = agent.nominated
      for (const { data, from } of take()) {
        if (selected?.protocol !== protocol) continue
        if (selected.remoteAddr[0] === from[0] && selected.remoteAddr[1] === from[1]) {
          protocol.onDataReceived.execute(data)
        }
      }
    })
    return started
  }
}
