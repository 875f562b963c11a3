import type { RTCDtlsTransport } from 'werift'

/**
 * werift's DTLS handshake messages handled in their `message_seq` order (RFC 6347 §4.2.2), on the engine's
 * client and the conference server's server: a message after a gap waits for the peer's retransmission of
 * its flight instead of being acted on (issue 12: joins over a lossy link).
 *
 * werift 0.25 acts on each handshake message as it arrives and only checks that the messages it needs are
 * there. A flight's messages go in separate datagrams, so one lost datagram is enough to end the handshake:
 *
 * - the server's CertificateRequest lost, the client still answers the ServerHelloDone behind it — without a
 *   Certificate, a flight the server can never accept and the client then retransmits unchanged until the
 *   join times out;
 * - the client's Certificate lost, the server reads the CertificateVerify behind it, throws, and fails the
 *   transport.
 *
 * - the client's Finished lost, the server reads the ClientKeyExchange again from the retransmitted
 *   flight and derives its keys anew over a transcript that now holds the CertificateVerify behind it
 *   (werift's extended master secret hashes every message it has): no Finished decrypts any more.
 *
 * Here a message numbered past the next one expected is dropped (the peer retransmits the whole flight:
 * werift does, on a timer from 0.5 s), and one numbered below it — a retransmission — is dropped too
 * (§4.2.2), except the last message of a flight (ClientHello, HelloVerifyRequest, ServerHelloDone,
 * Finished): werift answers a retransmitted flight with its own last flight when it reads that one again
 * (§4.2.4).
 */

/** werift's reassembled handshake message (`FragmentedHandshake`). */
interface Handshake {
  msg_type: number
  message_seq: number
}

/** The messages that end a flight, whose retransmission werift answers with its own last flight. */
const FLIGHT_ENDS = new Set([
  1, // ClientHello
  3, // HelloVerifyRequest
  14, // ServerHelloDone
  20, // Finished
])

/** werift's `DtlsSocket` (DtlsClient, DtlsServer): public in its JavaScript, not in its types. */
interface SocketInternals {
  onHandleHandshakes: (assembled: Handshake[]) => Promise<void>
}

/** Installs the ordering on one werift DTLS socket (before any record reaches it). */
export function handshakesInOrder(socket: unknown): void {
  const own = socket as SocketInternals
  const handle = own.onHandleHandshakes
  if (typeof handle !== 'function') return
  let next = 0
  own.onHandleHandshakes = (assembled) => {
    const passed = new Set<Handshake>()
    for (const message of [...assembled].sort((a, b) => a.message_seq - b.message_seq)) {
      // Not numbered as werift numbers them: left to werift, as before.
      if (typeof message.message_seq !== 'number') passed.add(message)
      else if (message.message_seq < next) {
        if (FLIGHT_ENDS.has(message.msg_type)) passed.add(message)
      } else if (message.message_seq === next) {
        passed.add(message)
        next++
      }
    }
    // werift's own order (by message type) for what it gets.
    const kept = assembled.filter((message) => passed.has(message))
    return kept.length === 0 ? Promise.resolve() : handle(kept)
  }
}

/** The ordering on the socket werift creates (synchronously) when `transport` starts. */
export function handshakesInOrderOnStart(transport: RTCDtlsTransport): void {
  const start = transport.start.bind(transport)
  transport.start = () => {
    const started = start()
    if (transport.dtls) handshakesInOrder(transport.dtls)
    return started
  }
}
