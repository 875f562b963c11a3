import { Message, classes, methods, type Address, type RTCPeerConnection, type TurnProtocol } from 'werift'

/**
 * Two round trips less between the answer and ICE connected (issue 15, docs/engine.md "Join round trips"
 * step 7), on werift's own objects, one PeerConnection at a time (no patch to werift; werift 0.25's
 * internals, named below, are what a werift upgrade must keep — `e2e/engine/iceFastStart.test.ts` counts
 * the checks and would fail, not hang, if they changed):
 *
 * - **The first check rides beside its ChannelBind.** werift's TURN client sends nothing to a new peer
 *   before its ChannelBind is answered (`TurnProtocol.sendData` awaits `getChannel`): a round trip before the
 *   first connectivity check leaves. A ChannelBind installs the peer's permission as well (RFC 8656 §12), so
 *   the first datagram to a peer goes out right behind it as a Send indication, which the TURN server
 *   relays once it has processed the ChannelBind ahead of it (UDP keeps their order on one path; if the
 *   network swaps them the indication is dropped and ICE's retransmission goes on the channel).
 * - **Nomination in the first check.** werift nominates regularly when the remote is ICE lite (a check,
 *   then a second one with USE-CANDIDATE): another round trip. With a lite peer and one candidate pair there
 *   is nothing to choose between, so the first check carries USE-CANDIDATE (the lite server nominates on
 *   it, RFC 8445 §7.3.1.5) and its success nominates the pair, as werift does for a pair its peer nominated.
 *   Several pairs: werift's regular nomination, untouched.
 */

/** werift's ICE agent (`Connection`): public in its JavaScript, not in its types. */
interface IceAgent {
  checkStart(pair: CandidatePair): unknown
  buildRequest(options: { nominate: boolean }): unknown
  iceControlling: boolean
  remoteIsLite: boolean
  checkList: CandidatePair[]
}

interface CandidatePair {
  remoteNominated: boolean
}

/** The first datagram to each peer leaves right behind its ChannelBind (see above). */
export function sendBesideChannelBind(turn: TurnProtocol, server: Address): void {
  const own = turn.sendData.bind(turn)
  const started = new Set<string>()
  turn.sendData = async (data, addr) => {
    const peer = JSON.stringify(addr)
    if (started.has(peer)) return own(data, addr)
    started.add(peer)
    // werift's own binding (deduplicated: later sends to this peer wait for it, then use the channel).
    turn.getChannel(addr).catch(() => undefined)
    // Its request is on the socket once the microtasks that build it have run.
    await new Promise((resolve) => setImmediate(resolve))
    const indication = new Message(methods.SEND, classes.INDICATION)
      .setAttribute('DATA', data)
      .setAttribute('XOR-PEER-ADDRESS', addr)
    await turn.sendStun(indication, server)
  }
}

/** Nomination in the first check with an ICE-lite peer and a single candidate pair (see above). */
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
        aggressive = false
      }
    }
  }
}
