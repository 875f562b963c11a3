import { describe, expect, it } from 'vitest'
import type { RegionView } from '../../shared/ipc'
import type { NetworkCheckReport, NetworkCheckRow } from '../../shared/networkCheck'
import { checkedEndpointsWords, portsOfRegions, portsOfReport } from './networkWords'

const region = (udp: [number, number], tcp: number): RegionView => ({
  id: `r${tcp}`,
  name: 'R',
  proxyHost: '10.0.0.1',
  ports: { udp, tcp },
})

const row = (endpoint: NetworkCheckRow['endpoint'], target: string): NetworkCheckRow => ({
  endpoint,
  check: endpoint,
  target,
  status: 'reachable',
  detail: '',
})

describe('the Network check description says the ports it really checks', () => {
  it('the shipped defaults read as before', () => {
    expect(checkedEndpointsWords(portsOfRegions([region([3478, 7070], 443)]))).toBe(
      "UDP 3478 and 7070 (STUN), TLS 443 with the region's certificate, and the session API",
    )
  })

  it('the embedded stack’s own ports, not 3478/7070/443', () => {
    const words = checkedEndpointsWords(portsOfRegions([region([33784, 43084], 46009)]))
    expect(words).toBe(
      "UDP 33784 and 43084 (STUN), TLS 46009 with the region's certificate, and the session API",
    )
  })

  it('several regions: each port once', () => {
    const words = checkedEndpointsWords(
      portsOfRegions([region([3478, 7070], 443), region([3478, 3479], 8443)]),
    )
    expect(words).toMatch(/^UDP 3478, 3479 and 7070 \(STUN\), TLS 443 and 8443 /)
  })

  it('after a check, the ports of its rows (an IPv6 target too)', () => {
    const report: NetworkCheckReport = {
      startedAt: '',
      durationMs: 1,
      ok: true,
      summary: '',
      regions: [
        {
          id: 'a',
          name: 'A',
          proxyHost: '::1',
          ok: true,
          rows: [
            row('udp', '[::1]:5000'),
            row('udpAlt', '[::1]:5001'),
            row('tls', '[::1]:5443'),
            row('session', '[::1]:5443'),
          ],
        },
      ],
    }
    expect(portsOfReport(report)).toEqual({ udp: [5000, 5001], tcp: [5443] })
  })

  it('no region: only the session API is named', () => {
    expect(checkedEndpointsWords(portsOfRegions([]))).toBe('the session API')
  })
})
