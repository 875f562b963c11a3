import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Proxy metrics. Plain numbers are the source of truth, so the relay's hot path pays one property increment
 * (`metrics.hot.clientToPeerPackets += 1`) and everything else one Map update; prom-client only sees the
 * values when a scrape calls each metric's `collect()`. `snapshot()` reads the same numbers synchronously.
 *
 * Label values should come from fixed sets (reason enums, STUN codes): each distinct value is a series.
 */

export type Direction = 'client_to_peer' | 'peer_to_client'

/** Written on every relayed packet; read only at scrape time. */
export interface HotCounters {
  clientToPeerPackets: number
  clientToPeerBytes: number
  peerToClientPackets: number
  peerToClientBytes: number
}

export interface ProxyMetricsSnapshot {
  allocations: number
  allocationsTotal: number
  packets: Record<Direction, number>
  bytes: Record<Direction, number>
  authFailures: Record<string, number>
  refusedPeers: Record<string, number>
  /** transport → kind → count */
  malformed: Record<string, Record<string, number>>
  dropped: Record<string, number>
  connections: Record<string, number>
  sessionsIssued: number
  sessionFailures: Record<string, number>
  signalConnections: number
  signalFailures: Record<string, number>
  rateLimited: number
  /** STUN error code (e.g. "401", "438") → error responses sent */
  errors: Record<string, number>
  /** TCP-port events (PORT443_EVENTS, HTTP and signaling events) → count */
  listenerEvents: Record<string, number>
  /** Connections refused by the connection slots (reason → count) */
  connectionsRefused: Record<string, number>
}

export interface ProxyMetricsOptions {
  /** Node process metrics (process_*, nodejs_*) in this registry. Default true; off when merging with
   * another registry that already has them (prom-client refuses duplicate names). */
  defaultMetrics?: boolean
  /** Labels added to every series, e.g. `{ region: 'shanghai' }`. */
  defaultLabels?: Record<string, string>
}

export const METRIC_PREFIX = 'pinhole_proxy_'

type Series = Array<[Record<string, string>, number]>

class Tally {
  readonly counts = new Map<string, number>()
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n)
  }
  toObject(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }
  series(label: string): Series {
    return [...this.counts].map(([key, value]) => [{ [label]: key }, value])
  }
}

type Define = (name: string, help: string, labels: string[], read: () => Series) => void
const one = (value: () => number) => (): Series => [[{}, value()]]

export class ProxyMetrics {
  readonly registry = new Registry()
  readonly hot: HotCounters = {
    clientToPeerPackets: 0,
    clientToPeerBytes: 0,
    peerToClientPackets: 0,
    peerToClientBytes: 0,
  }

  private allocations = 0
  private allocationsTotal = 0
  private readonly authFailures = new Tally()
  private readonly refusedPeers = new Tally()
  private readonly malformedByTransport = new Map<string, Tally>()
  private readonly droppedByReason = new Tally()
  private readonly connections = new Tally()
  private sessionsIssued = 0
  private readonly sessionFailures = new Tally()
  private signalConnections = 0
  private readonly signalFailures = new Tally()
  private rateLimitedCount = 0
  private readonly errors = new Tally()
  private readonly listenerEvents = new Tally()
  private readonly connectionsRefused = new Tally()
  private readonly hooks: Array<() => void> = []

  constructor(options: ProxyMetricsOptions = {}) {
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels)
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry })
    // Definition order is the exposition's order.
    this.defineRelayMetrics()
    this.defineConnectionMetrics()
  }

  private definers(): [Define, Define] {
    return [
      (name, help, labels, read) => this.define('counter', name, help, labels, read),
      (name, help, labels, read) => this.define('gauge', name, help, labels, read),
    ]
  }

  /** TURN: allocations, relayed traffic, refusals and drops. */
  private defineRelayMetrics(): void {
    const [c, g] = this.definers()
    const h = this.hot
    g(
      'allocations',
      'TURN allocations currently open.',
      [],
      one(() => this.allocations),
    )
    c(
      'allocations_total',
      'TURN allocations created.',
      [],
      one(() => this.allocationsTotal),
    )
    c('packets_total', 'Packets relayed, by direction.', ['direction'], () => [
      [{ direction: 'client_to_peer' }, h.clientToPeerPackets],
      [{ direction: 'peer_to_client' }, h.peerToClientPackets],
    ])
    c('bytes_total', 'Payload bytes relayed, by direction.', ['direction'], () => [
      [{ direction: 'client_to_peer' }, h.clientToPeerBytes],
      [{ direction: 'peer_to_client' }, h.peerToClientBytes],
    ])
    c('auth_failures_total', 'Rejected credentials (TURN or session API), by reason.', ['reason'], () =>
      this.authFailures.series('reason'),
    )
    c('refused_peers_total', 'Permissions or sends refused by the peer policy, by reason.', ['reason'], () =>
      this.refusedPeers.series('reason'),
    )
    c('malformed_total', 'Malformed input dropped, by transport and kind.', ['transport', 'kind'], () =>
      [...this.malformedByTransport].flatMap(([transport, kinds]): Series =>
        [...kinds.counts].map(([kind, value]) => [{ transport, kind }, value]),
      ),
    )
    c(
      'dropped_total',
      'Packets dropped (quota, bandwidth cap, no permission...), by reason.',
      ['reason'],
      () => this.droppedByReason.series('reason'),
    )
  }

  /** Connections, proxy sessions, signaling and the TCP port's listener. */
  private defineConnectionMetrics(): void {
    const [c, g] = this.definers()
    g('connections', 'Open connections, by transport.', ['transport'], () =>
      this.connections.series('transport'),
    )
    c(
      'sessions_issued_total',
      'Proxy sessions issued by POST /v1/proxy/session.',
      [],
      one(() => this.sessionsIssued),
    )
    c('session_failures_total', 'Session requests refused, by error code.', ['code'], () =>
      this.sessionFailures.series('code'),
    )
    g(
      'signal_connections',
      'Signaling WebSockets currently forwarded upstream.',
      [],
      one(() => this.signalConnections),
    )
    c('signal_failures_total', 'Signaling forwarding failures, by reason.', ['reason'], () =>
      this.signalFailures.series('reason'),
    )
    c(
      'rate_limited_total',
      'Unauthenticated requests refused by the per-IP rate limit.',
      [],
      one(() => this.rateLimitedCount),
    )
    c('errors_total', 'STUN error responses sent, by error code.', ['code'], () => this.errors.series('code'))
    c(
      'listener_events_total',
      'What happened to connections on the TCP (443) port: routes taken, timeouts, handshake failures...',
      ['event'],
      () => this.listenerEvents.series('event'),
    )
    c(
      'connections_refused_total',
      'Connections refused on the TCP port or for signaling: over maxConnections, the unauthenticated share or the per-IP limit.',
      ['reason'],
      () => this.connectionsRefused.series('reason'),
    )
  }

  allocationCreated(): void {
    this.allocations += 1
    this.allocationsTotal += 1
  }
  allocationEnded(): void {
    this.allocations -= 1
  }
  authFailure(reason: string): void {
    this.authFailures.add(reason)
  }
  refusedPeer(reason: string): void {
    this.refusedPeers.add(reason)
  }
  malformed(transport: string, kind: string): void {
    let kinds = this.malformedByTransport.get(transport)
    if (!kinds) this.malformedByTransport.set(transport, (kinds = new Tally()))
    kinds.add(kind)
  }
  dropped(reason: string): void {
    this.droppedByReason.add(reason)
  }
  connectionOpened(transport: string): void {
    this.connections.add(transport)
  }
  connectionClosed(transport: string): void {
    this.connections.add(transport, -1)
  }
  /** For sources that know their current count (read in an onCollect hook). */
  setConnections(transport: string, count: number): void {
    this.connections.counts.set(transport, count)
  }
  listenerEvent(event: string): void {
    this.listenerEvents.add(event)
  }
  connectionRefused(reason: string): void {
    this.connectionsRefused.add(reason)
  }
  sessionIssued(): void {
    this.sessionsIssued += 1
  }
  sessionFailed(code: string | number): void {
    this.sessionFailures.add(String(code))
  }
  signalOpened(): void {
    this.signalConnections += 1
  }
  signalClosed(): void {
    this.signalConnections -= 1
  }
  signalFailed(reason: string): void {
    this.signalFailures.add(reason)
  }
  rateLimited(): void {
    this.rateLimitedCount += 1
  }
  /**
   * An input the TURN core dropped without answering (TurnStatsSink): malformed input by transport,
   * the rate limit, everything else as a drop reason.
   */
  ignored(reason: string, source: string): void {
    if (reason === 'malformed') this.malformed(source, 'stun')
    else if (reason === 'rate-limited') this.rateLimited()
    else this.dropped(reason)
  }
  /** A STUN error response was sent (RFC 8489 §14.8 code, e.g. 401, 438, 486). */
  errorSent(code: number): void {
    this.errors.add(String(code))
  }

  /**
   * Replaces every value with `snapshot`: the primary of a worker pool (src/proxy/workers/workerPool.ts)
   * shows the sum of its workers' snapshots this way. Assigns, never adds, so it is safe in an onCollect
   * hook.
   */
  load(snapshot: ProxyMetricsSnapshot): void {
    const h = this.hot
    h.clientToPeerPackets = snapshot.packets.client_to_peer
    h.peerToClientPackets = snapshot.packets.peer_to_client
    h.clientToPeerBytes = snapshot.bytes.client_to_peer
    h.peerToClientBytes = snapshot.bytes.peer_to_client
    this.allocations = snapshot.allocations
    this.allocationsTotal = snapshot.allocationsTotal
    this.sessionsIssued = snapshot.sessionsIssued
    this.signalConnections = snapshot.signalConnections
    this.rateLimitedCount = snapshot.rateLimited
    const fill = (tally: Tally, values: Record<string, number>): void => {
      tally.counts.clear()
      for (const [key, value] of Object.entries(values)) tally.counts.set(key, value)
    }
    fill(this.authFailures, snapshot.authFailures)
    fill(this.refusedPeers, snapshot.refusedPeers)
    fill(this.droppedByReason, snapshot.dropped)
    fill(this.connections, snapshot.connections)
    fill(this.sessionFailures, snapshot.sessionFailures)
    fill(this.signalFailures, snapshot.signalFailures)
    fill(this.errors, snapshot.errors)
    fill(this.listenerEvents, snapshot.listenerEvents)
    fill(this.connectionsRefused, snapshot.connectionsRefused)
    this.malformedByTransport.clear()
    for (const [transport, kinds] of Object.entries(snapshot.malformed)) {
      const tally = new Tally()
      fill(tally, kinds)
      this.malformedByTransport.set(transport, tally)
    }
  }

  /**
   * Runs `hook` before every read (each metric's scrape-time collect, and snapshot()), e.g. to copy
   * counters kept elsewhere into `hot`. It may run several times per scrape: assign, never increment.
   */
  onCollect(hook: () => void): void {
    this.hooks.push(hook)
  }

  snapshot(): ProxyMetricsSnapshot {
    this.runHooks()
    const h = this.hot
    return {
      allocations: this.allocations,
      allocationsTotal: this.allocationsTotal,
      packets: { client_to_peer: h.clientToPeerPackets, peer_to_client: h.peerToClientPackets },
      bytes: { client_to_peer: h.clientToPeerBytes, peer_to_client: h.peerToClientBytes },
      authFailures: this.authFailures.toObject(),
      refusedPeers: this.refusedPeers.toObject(),
      malformed: Object.fromEntries(
        [...this.malformedByTransport].map(([t, kinds]) => [t, kinds.toObject()]),
      ),
      dropped: this.droppedByReason.toObject(),
      connections: this.connections.toObject(),
      sessionsIssued: this.sessionsIssued,
      sessionFailures: this.sessionFailures.toObject(),
      signalConnections: this.signalConnections,
      signalFailures: this.signalFailures.toObject(),
      rateLimited: this.rateLimitedCount,
      errors: this.errors.toObject(),
      listenerEvents: this.listenerEvents.toObject(),
      connectionsRefused: this.connectionsRefused.toObject(),
    }
  }

  /** Prometheus text exposition of this registry (what GET /metrics serves). */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }

  private runHooks(): void {
    for (const hook of this.hooks) hook()
  }

  /** Registers one metric whose values are copied from `read()` at scrape time. */
  private define(
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: string[],
    read: () => Series,
  ): void {
    const config = { name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] }
    const runHooks = (): void => this.runHooks()
    if (kind === 'counter') {
      new Counter({
        ...config,
        collect(this: Counter) {
          runHooks()
          this.reset()
          for (const [labels, value] of read()) this.inc(labels, value)
        },
      })
    } else {
      new Gauge({
        ...config,
        collect(this: Gauge) {
          runHooks()
          this.reset()
          for (const [labels, value] of read()) this.set(labels, value)
        },
      })
    }
  }
}
