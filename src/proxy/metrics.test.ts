import { describe, expect, it } from 'vitest'
import { METRIC_PREFIX, ProxyMetrics } from './metrics'

/** Value of one series in Prometheus text, e.g. `pinhole_proxy_packets_total{direction="peer_to_client"}`. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

function exercise(m: ProxyMetrics): void {
  m.allocationCreated()
  m.allocationCreated()
  m.allocationEnded()
  m.hot.clientToPeerPackets += 3
  m.hot.clientToPeerBytes += 300
  m.hot.peerToClientPackets += 2
  m.hot.peerToClientBytes += 1000
  m.authFailure('bad_integrity')
  m.authFailure('bad_integrity')
  m.authFailure('expired')
  m.refusedPeer('loopback')
  m.malformed('udp', 'bad_stun')
  m.malformed('udp', 'bad_stun')
  m.malformed('tcp', 'frame_too_large')
  m.dropped('bandwidth')
  m.connectionOpened('tls')
  m.connectionOpened('tls')
  m.connectionClosed('tls')
  m.connectionOpened('tcp')
  m.sessionIssued()
  m.sessionFailed(414)
  m.signalOpened()
  m.signalFailed('upstream_unreachable')
  m.rateLimited()
  m.errorSent(401)
  m.errorSent(438)
  m.errorSent(401)
  m.listenerEvent('tls_handshake_timeout')
  m.connectionRefused('unauthenticated_per_ip')
}

describe('ProxyMetrics', () => {
  it('starts at zero', () => {
    const m = new ProxyMetrics({ defaultMetrics: false })

    expect(m.snapshot()).toEqual({
      allocations: 0,
      allocationsTotal: 0,
      packets: { client_to_peer: 0, peer_to_client: 0 },
      bytes: { client_to_peer: 0, peer_to_client: 0 },
      authFailures: {},
      refusedPeers: {},
      malformed: {},
      dropped: {},
      connections: {},
      sessionsIssued: 0,
      sessionFailures: {},
      signalConnections: 0,
      signalFailures: {},
      rateLimited: 0,
      errors: {},
      listenerEvents: {},
      connectionsRefused: {},
    })
  })

  it('snapshot() reads every value, hot counters included', () => {
    const m = new ProxyMetrics({ defaultMetrics: false })

    exercise(m)

    expect(m.snapshot()).toEqual({
      allocations: 1,
      allocationsTotal: 2,
      packets: { client_to_peer: 3, peer_to_client: 2 },
      bytes: { client_to_peer: 300, peer_to_client: 1000 },
      authFailures: { bad_integrity: 2, expired: 1 },
      refusedPeers: { loopback: 1 },
      malformed: { udp: { bad_stun: 2 }, tcp: { frame_too_large: 1 } },
      dropped: { bandwidth: 1 },
      connections: { tls: 1, tcp: 1 },
      sessionsIssued: 1,
      sessionFailures: { '414': 1 },
      signalConnections: 1,
      signalFailures: { upstream_unreachable: 1 },
      rateLimited: 1,
      errors: { '401': 2, '438': 1 },
      listenerEvents: { tls_handshake_timeout: 1 },
      connectionsRefused: { unauthenticated_per_ip: 1 },
    })
  })

  it.each<[string, number]>([
    [`${METRIC_PREFIX}allocations`, 1],
    [`${METRIC_PREFIX}allocations_total`, 2],
    [`${METRIC_PREFIX}packets_total{direction="client_to_peer"}`, 3],
    [`${METRIC_PREFIX}packets_total{direction="peer_to_client"}`, 2],
    [`${METRIC_PREFIX}bytes_total{direction="client_to_peer"}`, 300],
    [`${METRIC_PREFIX}bytes_total{direction="peer_to_client"}`, 1000],
    [`${METRIC_PREFIX}auth_failures_total{reason="bad_integrity"}`, 2],
    [`${METRIC_PREFIX}refused_peers_total{reason="loopback"}`, 1],
    [`${METRIC_PREFIX}malformed_total{transport="udp",kind="bad_stun"}`, 2],
    [`${METRIC_PREFIX}malformed_total{transport="tcp",kind="frame_too_large"}`, 1],
    [`${METRIC_PREFIX}dropped_total{reason="bandwidth"}`, 1],
    [`${METRIC_PREFIX}connections{transport="tls"}`, 1],
    [`${METRIC_PREFIX}sessions_issued_total`, 1],
    [`${METRIC_PREFIX}session_failures_total{code="414"}`, 1],
    [`${METRIC_PREFIX}signal_connections`, 1],
    [`${METRIC_PREFIX}signal_failures_total{reason="upstream_unreachable"}`, 1],
    [`${METRIC_PREFIX}rate_limited_total`, 1],
    [`${METRIC_PREFIX}errors_total{code="401"}`, 2],
    [`${METRIC_PREFIX}connections_refused_total{reason="unauthenticated_per_ip"}`, 1],
  ])('exposes %s = %d in the scrape', async (series, expected) => {
    const m = new ProxyMetrics({ defaultMetrics: false })
    exercise(m)

    const text = await m.metrics()

    expect(valueOf(text, series)).toBe(expected)
  })

  it('copies hot counters at each scrape, not before', async () => {
    const m = new ProxyMetrics({ defaultMetrics: false })
    const series = `${METRIC_PREFIX}packets_total{direction="client_to_peer"}`
    m.hot.clientToPeerPackets = 5
    expect(valueOf(await m.metrics(), series)).toBe(5)

    m.hot.clientToPeerPackets += 7

    expect(valueOf(await m.metrics(), series)).toBe(12)
  })

  it('runs onCollect hooks before each read', async () => {
    const m = new ProxyMetrics({ defaultMetrics: false })
    const elsewhere = { packets: 0 }
    m.onCollect(() => {
      m.hot.peerToClientPackets = elsewhere.packets
    })

    elsewhere.packets = 4
    expect(m.snapshot().packets.peer_to_client).toBe(4)
    elsewhere.packets = 6
    expect(valueOf(await m.metrics(), `${METRIC_PREFIX}packets_total{direction="peer_to_client"}`)).toBe(6)
  })

  it('owns its registry (never the global one) and adds process metrics by default', async () => {
    const { register } = await import('prom-client')
    const a = new ProxyMetrics()
    const b = new ProxyMetrics({ defaultLabels: { region: 'shanghai' } })
    a.rateLimited()

    const textA = await a.metrics()
    const textB = await b.metrics()

    expect(register.getSingleMetric(`${METRIC_PREFIX}allocations`)).toBeUndefined()
    expect(textA).toContain('process_cpu_user_seconds_total')
    expect(valueOf(textA, `${METRIC_PREFIX}rate_limited_total`)).toBe(1)
    expect(valueOf(textB, `${METRIC_PREFIX}rate_limited_total{region="shanghai"}`)).toBe(0)
  })

  it("files the TURN core's ignored inputs as malformed, rate-limited or dropped", () => {
    const m = new ProxyMetrics({ defaultMetrics: false })
    m.ignored('malformed', 'udp')
    m.ignored('rate-limited', 'udp')
    m.ignored('no-permission', 'peer')
    const snap = m.snapshot()
    expect(snap.malformed).toEqual({ udp: { stun: 1 } })
    expect(snap.rateLimited).toBe(1)
    expect(snap.dropped).toEqual({ 'no-permission': 1 })
  })
})
