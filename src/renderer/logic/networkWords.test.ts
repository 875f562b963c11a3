import { beforeAll, describe, expect, it } from 'vitest'
import { createI18n } from '../i18n'
import { langOf, say, type Lang } from '../i18n/phrase'
import type { RegionView } from '../../shared/ipc'
import type { ProbeCheck } from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import {
  networkCheckOutline,
  regionVerdict,
  withRules,
  type NetworkCheckRegion,
  type NetworkCheckReport,
  type NetworkCheckRow,
} from '../../shared/networkCheck'
import {
  checkedEndpointsWords,
  outlinePhrases,
  portsOfRegions,
  portsOfReport,
  ruleCell,
  verdictPhrase,
} from './networkWords'

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

let en: Lang
let zh: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
  zh = langOf(await createI18n('zh-CN'))
})

describe('the Network check description says the ports it really checks', () => {
  it('the shipped defaults read as before', () => {
    expect(checkedEndpointsWords(en, portsOfRegions([region([3478, 7070], 443)]))).toBe(
      "UDP 3478 and 7070 (STUN), TLS 443 with the region's certificate, and the session API",
    )
  })

  it('the embedded stack’s own ports, not 3478/7070/443', () => {
    const words = checkedEndpointsWords(en, portsOfRegions([region([33784, 43084], 46009)]))
    expect(words).toBe(
      "UDP 33784 and 43084 (STUN), TLS 46009 with the region's certificate, and the session API",
    )
  })

  it('several regions: each port once', () => {
    const words = checkedEndpointsWords(
      en,
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
    expect(checkedEndpointsWords(en, portsOfRegions([]))).toBe('the session API')
  })
})

/** A region of the doctor's report: its checks with the rules of src/shared/networkCheck.ts. */
function checked(
  id: string,
  proxyHost: string,
  checks: ProbeCheck[],
  httpProxy?: string,
): NetworkCheckRegion {
  const rows = withRules(checks, { proxyHost, ...(httpProxy ? { httpProxy } : {}) })
  return { id, name: id, proxyHost, ok: rows.every((r) => r.status === 'reachable'), rows }
}

const probe = (
  endpoint: ProbeCheck['endpoint'],
  port: number,
  status: ProbeCheck['status'],
  errorCode?: ErrorCode,
): ProbeCheck => ({
  endpoint,
  check: endpoint === 'session' ? 'Session API' : `${endpoint === 'tls' ? 'TLS' : 'UDP'} ${port}`,
  target: `203.0.113.10:${port}`,
  status,
  detail: 'engine words',
  ...(errorCode === undefined ? {} : { errorCode }),
})

const REPORTS: [string, NetworkCheckRegion[], string?][] = [
  ['all reachable', [checked('sh', '203.0.113.10', [probe('udp', 3478, 'reachable')])]],
  [
    'UDP blocked, TLS inspected',
    [
      checked('bj', '203.0.113.10', [
        probe('udp', 3478, 'blocked', ErrorCode.ProxyUdpUnreachable),
        probe('udpAlt', 7070, 'blocked', ErrorCode.ProxyUdpAltUnreachable),
        probe('tls', 443, 'error', ErrorCode.TlsFingerprintMismatch),
        probe('session', 443, 'error', ErrorCode.TlsFingerprintMismatch),
      ]),
    ],
  ],
  [
    'through a corporate HTTP proxy',
    [
      checked(
        'gz',
        '203.0.113.10',
        [
          probe('udp', 3478, 'reachable'),
          probe('tls', 443, 'blocked', ErrorCode.HttpProxyConnectRefused),
          probe('session', 443, 'blocked', ErrorCode.ProxyTlsUnreachable),
        ],
        '10.0.0.8:3128',
      ),
    ],
    '10.0.0.8:3128',
  ],
  [
    'refused, unresolved and an error no rule fixes, in two regions',
    [
      checked('cd', '203.0.113.10', [
        probe('udp', 3478, 'refused', ErrorCode.ProxyNotRunning),
        probe('session', 443, 'refused', ErrorCode.ProxyNotRunning),
      ]),
      checked('xx', 'proxy.invalid', [
        probe('tls', 443, 'unresolved', ErrorCode.ProxyHostUnresolved),
        probe('session', 443, 'error', ErrorCode.ProxySessionApiUnreachable),
      ]),
    ],
  ],
  ['no region', []],
]

describe('the Network check in the language shown says what src/shared/networkCheck.ts decides', () => {
  it.each(REPORTS)(
    '%s: in English, word for word the shared outline, verdicts and rules',
    (_name, regions, via) => {
      const report: NetworkCheckReport = {
        startedAt: '',
        durationMs: 1,
        ok: regions.every((r) => r.ok),
        regions,
        summary: '',
        ...(via ? { httpProxy: via } : {}),
      }
      const outline = outlinePhrases(en, report)
      expect({
        headline: say(en.t, outline.headline),
        actions: outline.actions.map((a) => say(en.t, a)),
      }).toEqual(networkCheckOutline(regions))
      for (const region of regions) {
        expect(say(en.t, verdictPhrase(report, region))).toBe(regionVerdict(region))
        for (const row of region.rows) {
          const cell = ruleCell(report, region, row)
          if (row.rule !== undefined) expect(cell && say(en.t, cell)).toBe(row.rule)
        }
      }
      // The same decisions in Chinese: no English left but addresses, ports and protocol names.
      const zhOutline = outlinePhrases(zh, report)
      const zhText = [zhOutline.headline, ...zhOutline.actions].map((p) => say(zh.t, p)).join(' ')
      expect(zhText).toMatch(/\p{Script=Han}/u)
      expect(zhText.replace(/proxy\.invalid/g, '')).not.toMatch(/\b(allow|from|the|is|are|of|to|port)\b/)
    },
  )
})
