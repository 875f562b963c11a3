import { DtlsServer, type RTCDtlsTransport, type RTCPeerConnection } from 'werift'
import { onEachDtlsTransport } from './dtlsTransports'

/**
 * One round trip less between ICE connected and DTLS connected (issue 15, docs/engine.md "Join round
 * trips" step 8): the conference server's DTLS server answers the first ClientHello with its ServerHello
 * flight instead of a HelloVerifyRequest.
 *
 * RFC 6347 §4.2.1 lets a server skip the cookie exchange. The cookie proves that the client receives at
 * the address it claims, so that a spoofed ClientHello cannot make the server send its large flight to a
 * victim. Here the DTLS server only talks over an ICE connection: werift starts it once ICE is connected,
 * on the pair a MESSAGE-INTEGRITY-checked connectivity check verified (the password only the signalled peer
 * has), and clients reach the conference server through the proxy's TURN relay. So the address is proven
 * already and the exchange costs a round trip for nothing. The server flight then carries message_seq 0,
 * as §4.2.2 asks of a server's first message (werift numbers it 1, after its HelloVerifyRequest).
 *
 * werift 0.25 has no option for it and its flights are not exported, so, without patching werift, each
 * DtlsServer this installs on (one per DTLS transport of a conference server PeerConnection) keeps its own
 * handler and is driven around the HelloVerifyRequest: the first cookie-less ClientHello runs werift's
 * flight 2 (cipher suite, curve, SRTP profile, extended master secret) with its HelloVerifyRequest left
 * unsent, then the same ClientHello, carrying the cookie flight 2 chose, runs werift's flight 4 — whose
 * handshake transcript gets the ClientHello as the client sent it. werift's internals named below are what
 * a werift upgrade must keep: if they move, the transport keeps werift's own handshake (the cookie
 * exchange), and `e2e/engine/dtlsFastStart.test.ts`, which reads the flights on the wire, fails.
 */

const CLIENT_HELLO = 1
/** ClientHello: client_version (2), random (32), then session_id and cookie, each after a length byte. */
const SESSION_ID_AT = 34

/** werift's DTLS handshake message as its record layer hands it over (`FragmentedHandshake`). */
interface Handshake {
  msg_type: number
  message_seq: number
  fragment: Buffer
  serialize(): Buffer
}

/** werift's `DtlsServer` internals used here. */
interface ServerInternals {
  connected: boolean
  onHandleHandshakes: (assembled: Handshake[]) => Promise<void>
  transport: { send: (buf: Buffer) => unknown }
  dtls: { cookie?: Buffer; sequenceNumber: number }
}

/**
 * The cookie-less handshake on every DTLS transport of `pc` (a conference server PeerConnection; call it
 * when it is made): each one gets it when werift's `connect` (its own, after an answer) starts it.
 */
export function skipCookieExchange(pc: RTCPeerConnection): void {
  onEachDtlsTransport(pc, startWithoutCookie)
}

function startWithoutCookie(transport: RTCDtlsTransport): void {
  const start = transport.start.bind(transport)
  transport.start = () => {
    const started = start()
    // werift creates its DtlsServer synchronously in start(), before any record can reach it; only once
    // ICE has verified the peer (werift starts DTLS after ICE: checked, not assumed).
    const server = transport.dtls
    const iceState = transport.iceTransport.state
    if (server instanceof DtlsServer && (iceState === 'connected' || iceState === 'completed')) {
      install(server as unknown as ServerInternals)
    }
    return started
  }
}

function install(server: ServerInternals): void {
  const own = server.onHandleHandshakes
  if (typeof own !== 'function' || typeof server.transport?.send !== 'function') return
  if (typeof server.dtls?.sequenceNumber !== 'number') return
  server.onHandleHandshakes = async (assembled) => {
    const [hello] = assembled
    if (assembled.length !== 1 || hello?.msg_type !== CLIENT_HELLO || server.connected) return own(assembled)
    const cookieAt = SESSION_ID_AT + 1 + (hello.fragment[SESSION_ID_AT] ?? 0)
    if (hello.fragment[cookieAt] !== 0) return own(assembled)
    // werift's flight 2 negotiates and picks the cookie; its HelloVerifyRequest is not sent.
    if (!server.dtls.cookie) await unsent(server, () => own(assembled))
    const cookie = server.dtls.cookie
    if (!cookie) return own(assembled)
    const fragment = Buffer.concat([
      hello.fragment.subarray(0, cookieAt),
      Buffer.from([cookie.length]),
      cookie,
      hello.fragment.subarray(cookieAt + 1),
    ])
    // werift's flight 4 on the ClientHello with that cookie; its transcript keeps the bytes sent.
    const withCookie = Object.create(hello, {
      fragment: { value: fragment },
      serialize: { value: () => hello.serialize() },
    }) as Handshake
    return firstMessageSeqZero(server.dtls, () => own([withCookie]))
  }
}

/** Runs werift's synchronous flight 2 with nothing leaving the transport. */
function unsent(server: ServerInternals, run: () => Promise<void>): Promise<void> {
  const send = server.transport.send
  server.transport.send = () => Promise.resolve()
  try {
    return run()
  } finally {
    server.transport.send = send
  }
}

/**
 * werift's flight 4 sets its handshake message counter to 1 (after a HelloVerifyRequest numbered 0) and
 * then builds the flight synchronously: the first value it sets becomes 0.
 */
function firstMessageSeqZero(dtls: ServerInternals['dtls'], run: () => Promise<void>): Promise<void> {
  let value = dtls.sequenceNumber
  let first = true
  Object.defineProperty(dtls, 'sequenceNumber', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (next: number) => {
      value = first ? 0 : next
      first = false
    },
  })
  try {
    return run()
  } finally {
    Object.defineProperty(dtls, 'sequenceNumber', {
      configurable: true,
      enumerable: true,
      writable: true,
      value,
    })
  }
}
