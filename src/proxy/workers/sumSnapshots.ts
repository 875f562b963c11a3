import { ProxyMetrics, type ProxyMetricsSnapshot } from '../metrics'

/** Adds snapshots value by value (workers of one proxy → the proxy's totals). */
export function sumSnapshots(snapshots: readonly ProxyMetricsSnapshot[]): ProxyMetricsSnapshot {
  const zero = new ProxyMetrics({ defaultMetrics: false }).snapshot()
  const add = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
    const out = { ...a }
    for (const [key, value] of Object.entries(b)) out[key] = (out[key] ?? 0) + value
    return out
  }
  return snapshots.reduce<ProxyMetricsSnapshot>((acc, s) => {
    const malformed: Record<string, Record<string, number>> = { ...acc.malformed }
    for (const [transport, kinds] of Object.entries(s.malformed))
      malformed[transport] = add(malformed[transport] ?? {}, kinds)
    return {
      allocations: acc.allocations + s.allocations,
      allocationsTotal: acc.allocationsTotal + s.allocationsTotal,
      packets: add(acc.packets, s.packets) as ProxyMetricsSnapshot['packets'],
      bytes: add(acc.bytes, s.bytes) as ProxyMetricsSnapshot['bytes'],
      authFailures: add(acc.authFailures, s.authFailures),
      refusedPeers: add(acc.refusedPeers, s.refusedPeers),
      malformed,
      dropped: add(acc.dropped, s.dropped),
      connections: add(acc.connections, s.connections),
      sessionsIssued: acc.sessionsIssued + s.sessionsIssued,
      sessionFailures: add(acc.sessionFailures, s.sessionFailures),
      signalConnections: acc.signalConnections + s.signalConnections,
      signalFailures: add(acc.signalFailures, s.signalFailures),
      rateLimited: acc.rateLimited + s.rateLimited,
      errors: add(acc.errors, s.errors),
      listenerEvents: add(acc.listenerEvents, s.listenerEvents),
      connectionsRefused: add(acc.connectionsRefused, s.connectionsRefused),
    }
  }, zero)
}
