/**
 * The cloud proxy's defaults: its config section (config.ts) reads them from here, src/server/defaults.ts
 * lists them with the server's other defaults, and docs/proxy.md documents the same values.
 */
export const PROXY_DEFAULTS = {
  enabled: true,
  region: 'default',
  // One process relays ~60k packets/s; more workers share the ports with SO_REUSEPORT (docs/proxy.md §7).
  workers: 1,
  listenHost: '0.0.0.0',
  ports: { udp: [3478, 7070], tcp: 443 },
  relay: { listenHost: '0.0.0.0', portRange: [49152, 65535] },
  realm: 'pinhole',
  credentialTtlSeconds: 3600,
  nonceTtlSeconds: 600,
  // RFC 8656 §3.2: 10 minutes by default; §7.2 recommends a cap of one hour.
  allocations: {
    defaultLifetimeSeconds: 600,
    maxLifetimeSeconds: 3600,
    perUser: 10,
    total: 1000,
    bandwidthBytesPerSecond: 2_500_000,
  },
  peers: { allowLoopback: false },
  rateLimit: { unauthenticatedPerSecond: 20, burst: 40, allocationsPerSecond: 10 },
  timeouts: {
    firstByteMs: 10_000,
    tlsHandshakeMs: 10_000,
    httpHeadersMs: 10_000,
    httpRequestMs: 30_000,
    tcpIdleMs: 60_000,
  },
  limits: {
    maxFrameBytes: 16_384,
    maxBodyBytes: 16_384,
    maxConnections: 10_000,
    // Authenticated connections always keep the other half; an office behind one NAT address needs
    // the per-IP allowance only while its connections authenticate (a second or two each).
    unauthenticatedPercent: 50,
    unauthenticatedPerIp: 128,
  },
  signal: { joinTimeoutMs: 5_000, unjoinedPerIp: 64 },
} as const
