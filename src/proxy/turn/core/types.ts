import type { TransportAddress } from '../../../protocol/stun/attributes/address'

export type ClientTransport = 'udp' | 'tcp' | 'tls'

/** A channel bound on an allocation (RFC 8656 §12): number ↔ peer, until `expiresAt`. */
export interface Channel {
  number: number
  peer: TransportAddress
  peerKey: string
  expiresAt: number
}

/**
 * One client 5-tuple as the I/O layer sees it. The core never touches sockets: it hands the same object
 * back in `send` actions, so the I/O layer can hang its own socket handle on it.
 */
export interface ClientRef {
  readonly transport: ClientTransport
  readonly remote: TransportAddress
  /** The server port the client reached (3478, 7070, 443…): part of the 5-tuple. */
  readonly localPort: number
}

/** Why the core dropped an input without answering; every one is counted. */
export type IgnoreReason =
  | 'malformed'
  | 'not-a-request'
  | 'rate-limited'
  | 'no-allocation'
  | 'no-permission'
  | 'no-channel'
  | 'bandwidth'
  | 'unknown-attribute-indication'
  | 'relay-pending'
  /** The kernel refused a datagram the native fast path forwarded (socket buffer full). */
  | 'send-failed'
  | 'unknown-method'

export type Input<C extends ClientRef> =
  | { type: 'client'; client: C; data: Buffer }
  | { type: 'peer'; allocationId: number; from: TransportAddress; data: Buffer }
  | { type: 'relayOpened'; allocationId: number; relay: TransportAddress }
  | { type: 'relayFailed'; allocationId: number; reason: string }
  | { type: 'clientClosed'; client: C }
  | { type: 'tick' }

export type Action<C extends ClientRef> =
  | { type: 'send'; client: C; data: Buffer }
  | { type: 'relay'; allocationId: number; to: TransportAddress; data: Buffer }
  | { type: 'openRelay'; allocationId: number; family: 4 | 6; evenPort: boolean }
  | { type: 'closeRelay'; allocationId: number }
  | { type: 'ignore'; reason: IgnoreReason }

export interface TurnCoreOptions {
  realm: string
  /** TURN REST shared secret: password = base64(HMAC-SHA1(secret, "expiry:uid")). */
  secret: string
  software: string
  nonceTtlMs: number
  defaultLifetimeSeconds: number
  maxLifetimeSeconds: number
  perUserQuota: number
  totalQuota: number
  /** Bytes per second per allocation, both directions together; 0 = unlimited. */
  bandwidthBytesPerSecond: number
  /**
   * Failed authentications per second per client IP (bucket `unauthenticatedBurst`). Binding, the first
   * 401 challenge and other stateless answers are not limited (see Admission).
   */
  unauthenticatedPerSecond: number
  unauthenticatedBurst: number
  /** Allocations per second per TURN username, bucket twice that (→ 486 past it); 0 = unlimited. */
  allocationsPerSecond: number
  /** Whether 401 answers offer PASSWORD-ALGORITHMS (RFC 8489 §9.2 security feature "password algorithms"). */
  offerPasswordAlgorithms: boolean
  /** Key of the stateless nonces; random per process when absent. */
  nonceSecret?: Buffer
  /**
   * Apps whose join tokens are TURN credentials too (protocol/auth/joinTurn.ts: USERNAME = the token's
   * `header.payload`, password = its signature), checked as the session API checks tokens. Absent: none.
   */
  joinApps?: readonly { appKey: string; secret: string }[]
  /** Clock skew allowed on those tokens' times, seconds (default JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS). */
  tokenClockToleranceSeconds?: number
  /** Decides which peer addresses may be relayed to (peerPolicy.ts: the relay is an SSRF surface). */
  peerPolicy: (ip: string) => { ok: true } | { ok: false; reason: string }
}

/** What the core charges relayed bytes to (TokenBucket, or the native fast path's bucket). */
export interface BandwidthBucket {
  take(now: number, bytes: number): boolean
}

/**
 * Optional observers of the core's state, for an I/O layer that mirrors part of it (the native ChannelData
 * fast path, src/proxy/turn/node/fastPath.ts). The core stays the source of truth; hooks only hear of
 * changes.
 */
export interface TurnCoreHooks<C extends ClientRef> {
  /** A new allocation's bandwidth bucket; the default is a TokenBucket of `bytesPerSecond`. */
  bucketFor?(allocationId: number, client: C, bytesPerSecond: number): BandwidthBucket | undefined
  /** ChannelBind bound or refreshed `channel` until `channel.expiresAt` (RFC 8656 §12). */
  channelBound?(allocationId: number, channel: Channel, now: number): void
  /** The tick found `channel` expired and freed its number. */
  channelExpired?(allocationId: number, channel: Channel): void
}

/** RFC 8656 §9: permission lifetime; §12: channel binding lifetime. */
export const PERMISSION_LIFETIME_MS = 300_000
export const CHANNEL_LIFETIME_MS = 600_000
