import {
  Message,
  classes,
  methods,
  type Address,
  type RTCIceTransport,
  type RTCPeerConnection,
  type TurnProtocol,
} from 'werift'
import { startDtlsBesideCheck, type CheckedPair, type EarlyIceAgent } from './dtlsBesideCheck'

/**
 * Two round trips less between the answer and ICE connected (issue 15, docs/engine.md "Join round trips"
 * step 7), on werift's own objects, one PeerConnection at a time (no patch to werift; werift 0.25's
 * internals, named below, are what a werift upgrade must keep — `e2e/engine/iceFastStart.test.ts` counts
 * the checks and would fail, not hang, if they changed):
 *
 * - **The first check rides beside its ChannelBind.** werift's TURN client sends nothing to a new peer
 *   before its ChannelBind is answered (`TurnProtocol.sendData` awaits `getChannel`): a round trip before the
 *   first connectivity check leaves. A ChannelBind installs the peer's permission as well (RFC 8656 §12), so
 *   the datagrams to a peer (the check, then step 9's ClientHello) go out right behind it as Send indications
 *   until it is answered, which the TURN server relays once it has processed the ChannelBind ahead of
 *   them (UDP keeps their order on one path; if the network swaps them an indication is dropped and the
 *   retransmission — ICE's, DTLS's — goes on the channel).
 * - **Nomination in the first check.** werift nominates regularly when the remote is ICE lite (a check,
 *   then a second one with USE-CANDIDATE): another round trip. With a lite peer and one candidate pair there
 *   is nothing to choose between, so the first check carries USE-CANDIDATE (the lite server nominates on
 *   it, RFC 8445 §7.3.1.5) and its success nominates the pair, as werift does for a pair its peer nominated.
 *   Several pairs: werift's regular nomination, untouched.
 */

/** werift's ICE agent (`Connection`): public in its JavaScript, not in its types. */
interface IceAgent extends EarlyIceAgent {
  checkStart(pair: CandidatePair): unknown
  buildRequest(options: { nominate: boolean }): unknown
  iceControlling: boolean
  remoteIsLite: boolean
  checkList: CandidatePair[]
}

interface CandidatePair extends CheckedPair {
  remoteNominated: boolean
}

/**
 * The datagrams to a peer leave right behind its ChannelBind, as Send indications in the order werift sends
 * them, until the ChannelBind is answered (see above); the channel then.
 */
export function sendBesideChannelBind(turn: TurnProtocol, server: Address): void {
  const own = turn.sendData.bind(turn)
  /** Per peer whose ChannelBind is unanswered: the last indication sent to it. */
  const binding = new Map<string, Promise<unknown>>()
  const bound = new Set<string>()
  turn.sendData = (data, addr) => {
    const peer = JSON.stringify(addr)
    if (bound.has(peer)) return own(data, addr)
    let previous = binding.get(peer)
    if (!previous) {
      // werift's own binding (deduplicated: sends after its answer use the channel).
      void turn
        .getChannel(addr)
        .catch(() => undefined)
        .then(() => {
          bound.add(peer)
          binding.delete(peer)
        })
      // Its request is on the socket once the microtasks that build it have run.
      previous = new Promise((resolve) => setImmediate(resolve))
    }
    const sent = previous.then(() => {
      const indication = new Message(methods.SEND, classes.INDICATION)
        .setAttribute('DATA', data)
        .setAttribute('XOR-PEER-ADDRESS', addr)
      return turn.sendStun(indication, server)
    })
    binding.set(
      peer,
      sent.catch(() => undefined),
    )
    return sent
  }
}

/**
 * Nomination in the first check with an ICE-lite peer and a single candidate pair (see above), and the
 * DTLS client's first flight right behind that check (`dtlsBesideCheck.ts`).
 */
export function nominateOnFirstCheck(pc: RTCPeerConnection): void {
  for (const transport of pc.iceTransports) {
    const agent = transport.connection as unknown as IceAgent
    const check = agent.checkStart
    const build = agent.buildRequest.bind(agent)
    let aggressive = false
    agent.buildRequest = (options) => build(aggressive ? { ...options, nominate: true } : options)
    agent.checkStart = (pair) => {
      aggressive = agent.iceControlling && agent.remoteIsLite && agent.checkList.length === 1
      // werift's branch for a pair the peer nominated: its success nominates it, no second check.
      if (aggressive) pair.remoteNominated = true
      try {
        // werift builds the request synchronously, before its first await.
        return check(pair)
      } finally {
        if (aggressive) dtlsBehind(pc, transport, agent, pair)
        aggressive = false
      }
    }
  }
}

/** Once the check has reached its protocol (the microtasks before its send have run), the ClientHello. */
function dtlsBehind(pc: RTCPeerConnection, ice: RTCIceTransport, agent: IceAgent, pair: CandidatePair): void {
  setImmediate(() => {
    const dtls = pc.dtlsTransports.find((transport) => transport.iceTransport === ice)
    if (dtls && !agent.nominated) startDtlsBesideCheck(dtls, agent, pair)
  })
}
