import { createHmac } from 'node:crypto'
import type { Logger } from 'pino'
import type { ChannelPlacement } from '../shared/cluster'
import { SIGNAL_PATH } from '../shared/proxySession'
import { HttpError, type HttpAppOptions, type Route } from './api/httpApp'
import { createSessionApiRoute } from './api/proxySessionRoute'
import { routeTicketKey } from './api/routeTicket'
import type { SignalRelay, SignalRelayOptions } from './api/signalRelay'
import { createJoinRouter } from './api/signalJoin'
import { createTicketRouter } from './api/signalRoute'
import type { ProxySection, ProxyServerConfig } from './config'
import type { Port443Listener, Port443Options } from './edge443/port443'
import { loadOrGenerateCert, type CertMaterial } from './edge443/tlsCert'
import type { ProxyMetrics } from './metrics'
import { Authenticator } from './turn/core/auth'
import { createPeerPolicy } from './turn/core/peerPolicy'
import type { TurnRuntime, TurnRuntimeOptions } from './turn/node/turnRuntime'

/**
 * How ProxyServer.start (proxyServer.ts) builds its parts from the `proxy` config section: each function maps
 * the section to one part's options and wires that part's events to the metrics.
 */

export const SOFTWARE = 'pinhole-proxy'

/** The nonce key comes from the TURN secret: every worker (and a restarted proxy) accepts the same nonces. */
export function nonceKey(turnSecret: string): Buffer {
  return createHmac('sha256', turnSecret).update('pinhole/turn-nonce').digest()
}

/** Nonces the TURN server accepts (the same key as its own), for the session answer (issue 15). */
export function sessionNonces(p: ProxySection): {
  realm: string
  make(clientIp: string, now: number): string
} {
  const auth = new Authenticator({
    realm: p.realm,
    secret: p.turnSecret,
    nonceTtlMs: p.nonceTtlSeconds * 1000,
    offerPasswordAlgorithms: false,
    nonceSecret: nonceKey(p.turnSecret),
  })
  return { realm: p.realm, make: (clientIp, now) => auth.makeNonce(clientIp, now) }
}

/** The ports the session answer names; with port 0 (tests) they are known only after binding. */
export interface AnnouncedPorts {
  udp: number
  udpAlt: number
  tcp: number
}

/** The configured certificate, or a generated self-signed one (docs/proxy.md §4). */
export function loadProxyCert(config: ProxyServerConfig): Promise<CertMaterial> {
  const p = config.proxy
  return loadOrGenerateCert({
    certFile: p.tls.certFile,
    keyFile: p.tls.keyFile,
    commonName: p.publicAddress,
    altNames: [p.publicAddress],
  })
}

/** The certificate handed in (a worker pool loads one for all), else the configured or a generated one. */
export async function proxyCert(
  config: ProxyServerConfig,
  given: CertMaterial | undefined,
  logger: Logger,
): Promise<CertMaterial> {
  const cert = given ?? (await loadProxyCert(config))
  if (cert.generated && !given) {
    logger.warn(
      { fingerprintSha256: cert.fingerprintSha256 },
      'no TLS certificate configured: generated a self-signed one; clients must pin this fingerprint',
    )
  }
  return cert
}

/** `apps`: their join tokens are TURN credentials too (protocol/auth/joinTurn.ts, issue 15). */
export function turnRuntimeOptions(
  p: ProxySection,
  apps: readonly { appKey: string; secret: string }[],
  logger: Logger,
  metrics: ProxyMetrics,
  now: (() => number) | undefined,
): TurnRuntimeOptions {
  return {
    core: {
      joinApps: apps,
      realm: p.realm,
      secret: p.turnSecret,
      software: SOFTWARE,
      nonceTtlMs: p.nonceTtlSeconds * 1000,
      defaultLifetimeSeconds: p.allocations.defaultLifetimeSeconds,
      maxLifetimeSeconds: p.allocations.maxLifetimeSeconds,
      perUserQuota: p.allocations.perUser,
      totalQuota: p.allocations.total,
      bandwidthBytesPerSecond: p.allocations.bandwidthBytesPerSecond,
      unauthenticatedPerSecond: p.rateLimit.unauthenticatedPerSecond,
      unauthenticatedBurst: p.rateLimit.burst,
      allocationsPerSecond: p.rateLimit.allocationsPerSecond,
      offerPasswordAlgorithms: false,
      nonceSecret: nonceKey(p.turnSecret),
      peerPolicy: createPeerPolicy({ allow: p.peers.allow, allowLoopback: p.peers.allowLoopback }),
    },
    relay: { listenHost: p.relay.listenHost, address: p.relay.address, portRange: p.relay.portRange },
    maxFrameBytes: p.limits.maxFrameBytes,
    tcpIdleMs: p.timeouts.tcpIdleMs,
    frameStallMs: p.timeouts.firstByteMs,
    logger,
    stats: metrics,
    onStreamClosed: (reason, transport) => metrics.malformed(transport, reason),
    fastPath: p.fastPath,
    now,
  }
}

/** POST /v1/proxy/session, its refusals counted by error code; with `placement`, it places the channel. */
export function sessionRoute(
  config: ProxyServerConfig,
  ports: AnnouncedPorts,
  cert: CertMaterial,
  metrics: ProxyMetrics,
  placement?: ChannelPlacement,
): Route {
  const p = config.proxy
  return countingRoute(
    createSessionApiRoute({
      apps: config.apps,
      turnSecret: p.turnSecret,
      publicHost: p.publicAddress,
      region: p.region,
      ports,
      tlsFingerprintSha256: cert.fingerprintSha256,
      credentialTtlSeconds: p.credentialTtlSeconds,
      maxBodyBytes: p.limits.maxBodyBytes,
      onSession: () => metrics.sessionIssued(),
      turnNonce: sessionNonces(p),
      ...(placement ? { placement } : {}),
    }),
    (code) => metrics.sessionFailed(code),
  )
}

/**
 * With `placement`, each connection goes to the node its route ticket names (signalRoute.ts), or — a join
 * sent with the upgrade — to the node placement gives the verified join's channel (signalJoin.ts).
 */
export function signalRelayOptions(
  config: Pick<ProxyServerConfig, 'proxy' | 'apps'>,
  metrics: ProxyMetrics,
  placement?: ChannelPlacement,
): SignalRelayOptions {
  const p = config.proxy
  const key = routeTicketKey(p.turnSecret)
  const unreachable = (nodeId: string): void => placement?.unreachable?.(nodeId)
  const upstream = p.signal.upstream === undefined ? {} : { upstreamUrl: p.signal.upstream }
  return {
    ...upstream,
    ...(placement ? { router: createTicketRouter({ key, unreachable }) } : {}),
    joinRouter: createJoinRouter({ apps: config.apps, ...upstream, ...(placement ? { placement } : {}) }),
    joinTimeoutMs: p.signal.joinTimeoutMs,
    unjoinedPerIp: p.signal.unjoinedPerIp,
    onEvent: (event) => {
      metrics.listenerEvent(event)
      if (event === 'signal_open') metrics.signalOpened()
      else if (event === 'signal_closed') metrics.signalClosed()
      else if (event === 'signal_upstream_failed' || event === 'signal_upstream_lost')
        metrics.signalFailed(event)
      else if (event === 'signal_rejected_per_ip') metrics.connectionRefused('signal_unjoined_per_ip')
    },
  }
}

export function httpAppOptions(session: Route, signal: SignalRelay, metrics: ProxyMetrics): HttpAppOptions {
  return {
    routes: [session],
    upgrades: [
      {
        path: SIGNAL_PATH,
        handler: (req, socket, head, auth) => signal.handleUpgrade(req, socket, head, auth),
      },
    ],
    onEvent: (event) => metrics.listenerEvent(event),
  }
}

export function port443Options(
  p: ProxySection,
  parts: Pick<Port443Options, 'tls' | 'http' | 'reusePort'> & { runtime: TurnRuntime },
  metrics: ProxyMetrics,
): Port443Options {
  const { runtime, ...rest } = parts
  return {
    host: p.listenHost,
    port: p.ports.tcp,
    ...rest,
    onTurnConnection: (stream, info, auth) => runtime.attachStream(stream, info, auth),
    onEvent: (event) => {
      metrics.listenerEvent(event)
      if (event === 'malformed_first_byte') metrics.malformed('tcp', 'first-byte')
      else if (event === 'tls_malformed_first_byte') metrics.malformed('tls', 'first-byte')
      else if (event === 'tls_handshake_failed') metrics.malformed('tls', 'handshake')
      else if (event === 'http_malformed') metrics.malformed('http', 'request')
      // rejected_max_connections, rejected_unauthenticated_share, rejected_unauthenticated_per_ip
      else if (event.startsWith('rejected_')) metrics.connectionRefused(event.slice('rejected_'.length))
    },
    firstByteTimeoutMs: p.timeouts.firstByteMs,
    tlsHandshakeTimeoutMs: p.timeouts.tlsHandshakeMs,
    httpHeadersTimeoutMs: p.timeouts.httpHeadersMs,
    httpRequestTimeoutMs: p.timeouts.httpRequestMs,
    maxConnections: p.limits.maxConnections,
    unauthenticatedPercent: p.limits.unauthenticatedPercent,
    unauthenticatedPerIp: p.limits.unauthenticatedPerIp,
  }
}

/** The connection gauges, read at each scrape. */
export function collectConnections(
  metrics: ProxyMetrics,
  runtime: TurnRuntime,
  tcp: Port443Listener,
  signal: SignalRelay,
): void {
  // The native fast path counts on its own; its deltas join the sink at each read.
  runtime.flushFastPath()
  const streams = runtime.streamCount()
  metrics.setConnections('tcp', streams.tcp)
  metrics.setConnections('tls', streams.tls)
  metrics.setConnections('tcp443_all', tcp.connections())
  metrics.setConnections('tcp443_unauthenticated', tcp.unauthenticated())
  metrics.setConnections('signal', signal.connections())
}

/** Wraps a route so refusals are counted by their error code. */
function countingRoute(route: Route, onFailure: (code: string) => void): Route {
  return {
    ...route,
    handler: async (req, res) => {
      try {
        await route.handler(req, res)
      } catch (err) {
        if (err instanceof HttpError) onFailure(err.code)
        throw err
      }
    },
  }
}
