import { createHmac } from 'node:crypto'

/** TURN REST credentials (draft-uberti-behave-turn-rest): username `${expiry}:${uid}`, HMAC-SHA1 password. */
export interface TurnCredentials {
  username: string
  credential: string
}

/**
 * A TURN server the interop suite and the benchmark can drive, whoever implemented it (coturn or ours).
 * Everything listens on `host`; peers (echo peer, werift relays) are reached at `peerHost`, so the server
 * must allow loopback peers.
 */
export interface TurnServerUnderTest {
  /** Short label for reports, e.g. 'coturn' or 'pinhole'. */
  name: string
  host: string
  /** UDP listeners, main first (3478-like, then 7070-like). */
  udpPorts: number[]
  /** Plain TURN-over-TCP listener. */
  tcpPort: number
  /** TURN-over-TLS listener; may equal tcpPort when the server demultiplexes by first byte. */
  tlsPort: number
  /** PEM the TLS client pins (the server's self-signed certificate or its CA). */
  tlsCaPem: string
  /** Fresh REST-style credentials, valid for at least a few minutes. */
  credentials(uid?: string): TurnCredentials
  /** The shared secret behind credentials(), for turnutils_uclient -W. */
  restSecret: string
  peerHost: '127.0.0.1'
  /** Server process id when it runs as its own process (benchmarks read its CPU time); absent in-process. */
  pid?: number
  stop(): Promise<void>
}

export function restCredentials(
  secret: string,
  uid: string,
  ttlSeconds = 3600,
  nowMs = Date.now(),
): TurnCredentials {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${uid}`
  const credential = createHmac('sha1', secret).update(username).digest('base64')
  return { username, credential }
}
