import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Address, Transport } from 'werift'

/**
 * werift's transport for its TURN client on the TLS probe's connection (handedRelay.ts; docs/engine.md
 * "Join round trips", step T2): a stream transport (`type: 'tls'`, as werift's own TlsTransport), so
 * werift pads what it sends to RFC 6062 frames and splits what it reads into them. Everything read comes
 * from the TURN server, under `endpoint` — the address werift pins as the allocation's server, so that its
 * transactions accept the answers. The connection is pinned and has Nagle off (route/tlsPin.ts).
 */
export function tlsRelayTransport(socket: TLSSocket): { transport: Transport; endpoint: Address } {
  const endpoint: Address = [socket.remoteAddress ?? '', socket.remotePort ?? 0]
  const transport: Transport = {
    type: 'tls',
    closed: socket.destroyed,
    onData: () => undefined,
    remoteAddress: endpoint,
    get address(): AddressInfo {
      return socket.address() as AddressInfo
    },
    send: (data) =>
      new Promise<void>((resolve, reject) => {
        if (transport.closed) return resolve()
        socket.write(data, (error) => (error ? reject(error) : resolve()))
      }),
    close: () => {
      transport.closed = true
      socket.destroy()
      return Promise.resolve()
    },
  }
  socket.on('data', (data: Buffer) => transport.onData(data, endpoint))
  // The proxy gone or the connection reset: ICE notices (no more answers), as with werift's own socket.
  socket.on('error', () => undefined)
  socket.on('close', () => (transport.closed = true))
  return { transport, endpoint }
}
