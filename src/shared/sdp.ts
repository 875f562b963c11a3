/**
 * Remote candidates werift must not act on, for the conference server and the engine alike: mDNS names
 * (`.local`: resolving one sends a multicast query off the machine) and anything not UDP (werift's media
 * path is UDP, to the server's port or to the TURN relay). The server is ICE lite, so a remote candidate
 * only names where checks may come from; the client's checks still reach it from wherever they are sent.
 * Line endings come back as CRLF, as RFC 4566 writes them.
 */
export function sanitizeRemoteSdp(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => {
      if (!line.startsWith('a=candidate:')) return true
      const fields = line.split(' ')
      const transport = fields[2]?.toLowerCase()
      const address = fields[4] ?? ''
      return transport === 'udp' && !address.toLowerCase().endsWith('.local')
    })
    .join('\r\n')
}
