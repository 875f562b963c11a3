import { JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS } from '../protocol/auth/joinToken'

/**
 * Every conference-server default, in one place, so that no number hides in the code: the config schema
 * reads them from here and docs/sfu.md documents the same values.
 */
export const SFU_DEFAULTS = {
  enabled: false,
  /** Loopback unless told otherwise: the proxy (or the embedded app) reaches the server locally. */
  listenHost: '127.0.0.1',
  port: 7880,
  announcedAddress: '127.0.0.1',
  maxParticipants: 16,
  maxChannels: 1000,
  maxConnections: 2000,
  /** Connections that have not joined yet may hold this part of maxConnections (joined ones keep the rest). */
  unauthenticatedPercent: 50,
  /** Connections not joined yet from one client address (an office behind one NAT joins a few at a time). */
  unauthenticatedPerIp: 64,
  /** Proxies whose X-Forwarded-For names the client (the proxy relays from loopback by default). */
  trustedProxies: ['127.0.0.0/8', '::1'],
  reconnectGraceMs: 10_000,
  devTokens: false,
  devTokenTtlSeconds: 3600,
  maxMessageBytes: 65_536,
  /** A connection that has not joined by then is closed (4000): idle sockets do not hold slots for long. */
  joinTimeoutMs: 5_000,
  /** An offer not answered by then closes the connection (the participant can resume). */
  negotiationTimeoutMs: 10_000,
  /** WebSocket protocol pings; a connection that misses one pong is considered dropped. */
  keepaliveMs: 10_000,
  /** Malformed messages tolerated per connection before it is closed (1008). */
  maxBadMessages: 20,
  /** A slow reader whose send queue exceeds this is closed. */
  maxBufferedBytes: 1_048_576,
  /** Server-side PLI rate limit per published video track (many subscribers joining at once). */
  keyframeMinIntervalMs: 250,
  /**
   * A participant whose media path is dead while werift says "connected" (nothing received this long,
   * although werift's RTCP alone arrives every 0.5–1.5 s) is closed with 4006 so that its client rejoins.
   */
  mediaStallMs: 8000,
  drainTimeoutMs: 30_000,
  /** The same allowance as the proxy's session API (one constant, src/protocol/auth/joinToken.ts). */
  tokenClockToleranceSeconds: JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
} as const
