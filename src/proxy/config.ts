import { z } from 'zod'
import {
  expecting,
  port,
  bindPort,
  intIn,
  positiveInt,
  host,
  advertisedHost,
  advertisedIp,
  cidr,
  wsUrl,
} from '../platform/configFields'
import { PROXY_DEFAULTS as D } from './defaults'

export { PROXY_DEFAULTS } from './defaults'

/**
 * The `proxy:` section of the server config (docs/proxy.md). The server's config (src/server/config.ts)
 * composes it with the apps, the `sfu` section and the checks that span sections (listener clashes, the
 * relayed address of a DNS publicAddress). Sections without required fields have `.prefault({})`, so their
 * defaults apply when absent.
 */

const portsSchema = z
  .strictObject({
    udp: z
      .array(bindPort)
      .min(1, 'expected 1 to 4 UDP ports')
      .max(4, 'expected 1 to 4 UDP ports')
      .default([...D.ports.udp])
      .superRefine((ports, ctx) => {
        ports.forEach((p, i) => {
          if (p !== 0 && ports.indexOf(p) !== i)
            ctx.addIssue({ code: 'custom', path: [i], message: `duplicate port ${p}` })
        })
      }),
    tcp: bindPort.default(D.ports.tcp),
  })
  .prefault({})

const relaySchema = z
  .strictObject({
    listenHost: host.default(D.relay.listenHost),
    address: advertisedIp.optional(),
    portRange: z
      .tuple([port, port], expecting('expected [min, max] ports'))
      .default([...D.relay.portRange])
      .refine(([min, max]) => min <= max, 'expected [min, max] with min <= max'),
  })
  .prefault({})

const tlsSchema = z
  .strictObject({ certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() })
  .prefault({})
  .superRefine((tls, ctx) => {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      const missing = tls.certFile === undefined ? 'certFile' : 'keyFile'
      ctx.addIssue({ code: 'custom', path: [missing], message: 'set both certFile and keyFile, or neither' })
    }
  })

const A = D.allocations
const allocationsSchema = z
  .strictObject({
    defaultLifetimeSeconds: intIn(60, 86_400).default(A.defaultLifetimeSeconds),
    maxLifetimeSeconds: intIn(60, 86_400).default(A.maxLifetimeSeconds),
    perUser: positiveInt.default(A.perUser),
    total: positiveInt.default(A.total),
    bandwidthBytesPerSecond: intIn(0, Number.MAX_SAFE_INTEGER).default(A.bandwidthBytesPerSecond),
  })
  .prefault({})
  .superRefine((a, ctx) => {
    if (a.maxLifetimeSeconds < a.defaultLifetimeSeconds) {
      const message = 'expected at least defaultLifetimeSeconds'
      ctx.addIssue({ code: 'custom', path: ['maxLifetimeSeconds'], message })
    }
    if (a.perUser > a.total)
      ctx.addIssue({ code: 'custom', path: ['perUser'], message: 'expected at most total' })
  })

const T = D.timeouts
const timeoutMs = intIn(100, 3_600_000)
const L = D.limits

export const proxySectionSchema = z.strictObject({
  enabled: z.boolean().default(D.enabled),
  workers: intIn(1, 64).default(D.workers),
  // UDP relaying through the native ChannelData fast path (docs/proxy.md §8): when built, always, never.
  fastPath: z.enum(['auto', 'native', 'js']).default('auto'),
  region: z.string().min(1).max(64).default(D.region),
  publicAddress: advertisedHost,
  listenHost: host.default(D.listenHost),
  ports: portsSchema,
  relay: relaySchema,
  tls: tlsSchema,
  // RFC 8489 §14.9: REALM is fewer than 128 characters.
  realm: z.string().min(1).max(127).default(D.realm),
  turnSecret: z.string(expecting('expected a string')).min(16, 'expected at least 16 characters'),
  credentialTtlSeconds: intIn(60, 86_400).default(D.credentialTtlSeconds),
  nonceTtlSeconds: intIn(10, 3600).default(D.nonceTtlSeconds),
  allocations: allocationsSchema,
  peers: z.strictObject({
    allow: z.array(cidr).min(1, 'expected at least one CIDR (the conference servers)'),
    allowLoopback: z.boolean().default(D.peers.allowLoopback),
  }),
  rateLimit: z
    .strictObject({
      unauthenticatedPerSecond: positiveInt.default(D.rateLimit.unauthenticatedPerSecond),
      burst: positiveInt.default(D.rateLimit.burst),
      allocationsPerSecond: positiveInt.default(D.rateLimit.allocationsPerSecond),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      firstByteMs: timeoutMs.default(T.firstByteMs),
      tlsHandshakeMs: timeoutMs.default(T.tlsHandshakeMs),
      httpHeadersMs: timeoutMs.default(T.httpHeadersMs),
      httpRequestMs: timeoutMs.default(T.httpRequestMs),
      tcpIdleMs: timeoutMs.default(T.tcpIdleMs),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxFrameBytes: intIn(1500, 65_535).default(L.maxFrameBytes),
      maxBodyBytes: intIn(256, 16 * 1024 * 1024).default(L.maxBodyBytes),
      maxConnections: positiveInt.default(L.maxConnections),
      // Connection slots (src/platform/connectionSlots.ts): what clients not yet authenticated may hold.
      unauthenticatedPercent: intIn(1, 100).default(L.unauthenticatedPercent),
      unauthenticatedPerIp: positiveInt.default(L.unauthenticatedPerIp),
    })
    .prefault({}),
  signal: z
    .strictObject({
      // Required without a cluster (the server config checks it): with one, each channel's node is placed.
      upstream: wsUrl.optional(),
      joinTimeoutMs: timeoutMs.default(D.signal.joinTimeoutMs),
      unjoinedPerIp: positiveInt.default(D.signal.unjoinedPerIp),
    })
    .prefault({}),
})

type ParsedProxySection = z.output<typeof proxySectionSchema>

/** A validated `proxy` section, `relay.address` resolved (resolveRelayAddress). */
export type ProxySection = Omit<ParsedProxySection, 'relay'> & {
  relay: ParsedProxySection['relay'] & { address: string }
}

/** The relayed address (RFC 8656 XOR-RELAYED-ADDRESS) must be an IP; it defaults to publicAddress. */
export function resolveRelayAddress(p: ParsedProxySection): ProxySection {
  return { ...p, relay: { ...p.relay, address: p.relay.address ?? p.publicAddress } }
}

/** An application whose join tokens the proxy accepts (the server config's `apps`). */
export interface ProxyApp {
  appKey: string
  secret: string
}

/** What the cloud proxy (`ProxyServer.start`) reads: the apps and its own section, which must be present. */
export interface ProxyServerConfig {
  apps: ProxyApp[]
  proxy: ProxySection
}
