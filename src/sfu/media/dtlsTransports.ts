import type { RTCDtlsTransport, RTCPeerConnection } from 'werift'

/**
 * `install` once on each DTLS transport of `pc` (a conference server PeerConnection; call it when it is
 * made), when werift's `connect` (its own, after an answer) is about to start them: werift has no event for
 * a new transport. A werift without `connect` is left as it is. Used by the cookie-less handshake
 * (dtlsFastStart.ts) and the native SRTP receive (srtpIn.ts).
 */
export function onEachDtlsTransport(
  pc: RTCPeerConnection,
  install: (transport: RTCDtlsTransport) => void,
): void {
  const internals = pc as unknown as { connect?: () => unknown }
  if (typeof internals.connect !== 'function') return
  const connect = internals.connect.bind(pc)
  const installed = new WeakSet<RTCDtlsTransport>()
  internals.connect = () => {
    for (const transport of pc.dtlsTransports) {
      if (installed.has(transport)) continue
      installed.add(transport)
      install(transport)
    }
    return connect()
  }
}
