import { describe, expect, it } from 'vitest'
import type { ProbeCheck } from './engine'
import { ErrorCode } from './errors'
import {
  firewallRule,
  networkCheckOutline,
  networkCheckSummary,
  notFirewallNotes,
  regionVerdict,
  splitTarget,
  uniqueRules,
  withRules,
  type NetworkCheckRegion,
  type RuleContext,
} from './networkCheck'

const HOST = '203.0.113.10'
const check = (over: Partial<ProbeCheck>): ProbeCheck => ({
  endpoint: 'udp',
  check: 'UDP 3478',
  target: `${HOST}:3478`,
  status: 'reachable',
  detail: 'STUN Binding answered',
  ...over,
})
const direct: RuleContext = { proxyHost: HOST }
const viaProxy: RuleContext = { proxyHost: HOST, httpProxy: '10.0.0.8:3128' }

describe('firewallRule: the sentence IT acts on (the doctor’s wording)', () => {
  it.each([
    [
      'blocked UDP 3478',
      check({ status: 'blocked' }),
      direct,
      `allow UDP from desktops to ${HOST} port 3478`,
    ],
    [
      'blocked UDP 7070',
      check({ endpoint: 'udpAlt', check: 'UDP 7070', target: `${HOST}:7070`, status: 'blocked' }),
      direct,
      `allow UDP from desktops to ${HOST} port 7070`,
    ],
    [
      'blocked TLS 443',
      check({ endpoint: 'tls', check: 'TLS 443', target: `${HOST}:443`, status: 'blocked' }),
      direct,
      `allow TCP from desktops to ${HOST} port 443`,
    ],
    [
      'blocked session API',
      check({ endpoint: 'session', check: 'Session API', target: `${HOST}:443`, status: 'blocked' }),
      direct,
      `allow TCP from desktops to ${HOST} port 443`,
    ],
    [
      'TLS inspection',
      check({
        endpoint: 'tls',
        target: `${HOST}:443`,
        status: 'error',
        errorCode: ErrorCode.TlsFingerprintMismatch,
      }),
      direct,
      `exempt ${HOST} port 443 from TLS inspection`,
    ],
    [
      'HTTP proxy unreachable',
      check({
        endpoint: 'tls',
        target: `${HOST}:443`,
        status: 'error',
        errorCode: ErrorCode.HttpProxyUnreachable,
      }),
      viaProxy,
      'allow TCP from desktops to 10.0.0.8 port 3128 (the corporate HTTP proxy)',
    ],
    [
      'CONNECT refused',
      check({
        endpoint: 'session',
        target: `${HOST}:443`,
        status: 'error',
        errorCode: ErrorCode.HttpProxyConnectRefused,
      }),
      viaProxy,
      `allow HTTP CONNECT through the corporate proxy 10.0.0.8:3128 to ${HOST} port 443`,
    ],
    [
      'proxy cannot reach the Pinhole proxy',
      check({
        endpoint: 'tls',
        target: `${HOST}:443`,
        status: 'blocked',
        errorCode: ErrorCode.ProxyTlsUnreachable,
      }),
      viaProxy,
      `allow TCP from the corporate HTTP proxy 10.0.0.8:3128 to ${HOST} port 443`,
    ],
    [
      'UDP goes direct even with an HTTP proxy',
      check({ status: 'blocked', errorCode: ErrorCode.ProxyUdpUnreachable }),
      viaProxy,
      `allow UDP from desktops to ${HOST} port 3478`,
    ],
  ])('%s', (_name, row, context, rule) => {
    expect(firewallRule(row, context)).toBe(rule)
  })

  it.each([
    ['reachable', check({}), direct],
    [
      'proxy credentials refused (not a firewall matter)',
      check({
        endpoint: 'tls',
        target: `${HOST}:443`,
        status: 'error',
        errorCode: ErrorCode.HttpProxyAuthRefused,
      }),
      viaProxy,
    ],
    [
      'something else answers on 443',
      check({
        endpoint: 'session',
        target: `${HOST}:443`,
        status: 'error',
        errorCode: ErrorCode.ProxySessionApiUnreachable,
      }),
      direct,
    ],
  ])('no rule: %s', (_name, row, context) => {
    expect(firewallRule(row, context)).toBeUndefined()
  })

  it('splits host:port at the last colon', () => {
    expect(splitTarget('10.99.2.2:7070')).toEqual({ host: '10.99.2.2', port: '7070' })
    expect(splitTarget('2001:db8::1:443')).toEqual({ host: '2001:db8::1', port: '443' })
  })

  it('withRules replaces a rule the rows came with', () => {
    const rows = withRules([{ ...check({ status: 'blocked' }), rule: 'old words' } as ProbeCheck], direct)
    expect(rows[0]!.rule).toBe(`allow UDP from desktops to ${HOST} port 3478`)
    expect(withRules([check({})], direct)[0]).not.toHaveProperty('rule')
  })
})

describe('networkCheckSummary', () => {
  const region = (id: string, rows: ProbeCheck[]): NetworkCheckRegion => ({
    id,
    name: `Region ${id}`,
    proxyHost: HOST,
    ok: rows.every((r) => r.status === 'reachable'),
    rows: withRules(rows, direct),
  })

  it('says nothing needs changing when everything answers', () => {
    expect(networkCheckSummary([region('a', [check({}), check({ endpoint: 'tls' })])])).toBe(
      'All 2 whitelisted endpoints in 1 region answer from this computer: no firewall change is needed.',
    )
  })

  it('names what is blocked and each rule once', () => {
    const tls = {
      endpoint: 'tls' as const,
      check: 'TLS 443',
      target: `${HOST}:443`,
      status: 'blocked' as const,
    }
    const session = { ...tls, endpoint: 'session' as const, check: 'Session API' }
    const text = networkCheckSummary([region('a', [check({}), check(tls), check(session)])])
    expect(text).toBe(
      `2 of 3 whitelisted endpoints in 1 region are not reachable from this computer: TLS 443 of Region a ` +
        `(${HOST}:443) blocked; Session API of Region a (${HOST}:443) blocked. Firewall rules to add: ` +
        `allow TCP from desktops to ${HOST} port 443.`,
    )
  })

  it('counts problems no rule fixes, and handles no region', () => {
    const odd = check({
      endpoint: 'session',
      status: 'error',
      errorCode: ErrorCode.ProxySessionApiUnreachable,
    })
    expect(networkCheckSummary([region('a', [odd])])).toMatch(
      /^1 of 1 whitelisted endpoint in 1 region is not reachable .* 1 problem no firewall rule fixes/,
    )
    expect(networkCheckSummary([])).toMatch(/No region is configured/)
  })
})

describe('refused and unresolved: no firewall rule, and who acts instead (issue 10 item 9)', () => {
  const refused = (over: Partial<ProbeCheck>): ProbeCheck =>
    check({ status: 'refused', errorCode: ErrorCode.ProxyNotRunning, ...over })
  const rows = [
    refused({}),
    refused({ endpoint: 'udpAlt', check: 'UDP 7070', target: `${HOST}:7070` }),
    refused({ endpoint: 'tls', check: 'TLS 443', target: `${HOST}:443` }),
    refused({ endpoint: 'session', check: 'Session API', target: `${HOST}:443` }),
  ]

  it('gives no rule for a refused or unresolved endpoint, directly or through a corporate proxy', () => {
    for (const row of [...rows, check({ status: 'unresolved', errorCode: ErrorCode.ProxyHostUnresolved })]) {
      expect(firewallRule(row, direct)).toBeUndefined()
      expect(firewallRule(row, viaProxy)).toBeUndefined()
    }
  })

  it('a stopped proxy: the summary and the verdict name the proxy, not IT', () => {
    const stopped: NetworkCheckRegion = {
      id: 'fra',
      name: 'Frankfurt',
      proxyHost: HOST,
      ok: false,
      rows: withRules(rows, direct),
    }
    const text = networkCheckSummary([stopped])
    expect(text).not.toMatch(/Firewall rules to add/)
    expect(text).toContain(
      `${HOST} refused UDP 3478, UDP 7070, TLS 443, Session API: nothing listens there, so the Pinhole ` +
        'proxy is not running on that address',
    )
    expect(text).toMatch(/contact whoever runs the proxy/)
    expect(text).not.toMatch(/problems? no firewall rule fixes: see the detail/)
    expect(regionVerdict(stopped)).toBe('proxy not running: contact whoever runs it')
    expect(notFirewallNotes(HOST, stopped.rows)).toHaveLength(1)
  })

  it('a name that does not resolve says DNS; a blocked port next to it still gets its rule', () => {
    const region: NetworkCheckRegion = {
      id: 'x',
      name: 'X',
      proxyHost: 'proxy-fra.example.com',
      ok: false,
      rows: withRules(
        [
          check({ status: 'unresolved', errorCode: ErrorCode.ProxyHostUnresolved }),
          check({ endpoint: 'tls', check: 'TLS 443', target: `${HOST}:443`, status: 'blocked' }),
        ],
        direct,
      ),
    }
    const text = networkCheckSummary([region])
    expect(text).toContain('proxy-fra.example.com does not resolve (DNS)')
    expect(text).toContain(`Firewall rules to add: allow TCP from desktops to ${HOST} port 443.`)
    expect(regionVerdict(region)).toBe('needs IT (firewall)')
    expect(regionVerdict({ ...region, rows: region.rows.slice(0, 1) })).toBe(
      'proxy name does not resolve (DNS)',
    )
    expect(uniqueRules([...region.rows, ...region.rows])).toHaveLength(1)
  })
})

describe('networkCheckOutline: what the Network check shows above the tables', () => {
  const down = (id: string, proxyHost: string, rows: ProbeCheck[]): NetworkCheckRegion => ({
    id,
    name: id,
    proxyHost,
    ok: false,
    rows: withRules(rows, { proxyHost }),
  })

  it('one verdict line without the endpoint list, then one item per thing to do', () => {
    const stopped = down('sh', HOST, [
      check({ status: 'refused' }),
      check({ endpoint: 'tls', status: 'blocked', check: 'TLS 443', target: `${HOST}:443` }),
    ])
    const unresolved = down('fra', 'proxy-fra.example.com', [
      check({ status: 'unresolved', target: 'proxy-fra.example.com:3478' }),
    ])
    const outline = networkCheckOutline([stopped, unresolved])
    expect(outline.headline).toBe(
      '3 of 3 whitelisted endpoints in 2 regions are not reachable from this computer.',
    )
    expect(outline.actions).toEqual([
      `Firewall rules to add: allow TCP from desktops to ${HOST} port 443.`,
      expect.stringMatching(
        new RegExp(`^${HOST.replaceAll('.', '\\.')} refused UDP 3478: .*contact whoever runs the proxy\\.$`),
      ),
      expect.stringMatching(/^proxy-fra\.example\.com does not resolve \(DNS\)/),
    ])
    // The paragraph for IT (export, log) still names every endpoint, then the same things to do.
    const summary = networkCheckSummary([stopped, unresolved])
    expect(summary).toContain(`UDP 3478 of sh (${HOST}:3478) refused`)
    expect(summary.endsWith(outline.actions.join(' '))).toBe(true)
  })

  it('nothing to do when everything answers, or nothing is configured', () => {
    const fine: NetworkCheckRegion = { id: 'a', name: 'a', proxyHost: HOST, ok: true, rows: [check({})] }
    expect(networkCheckOutline([fine])).toEqual({
      headline:
        'All 1 whitelisted endpoint in 1 region answer from this computer: no firewall change is needed.',
      actions: [],
    })
    expect(networkCheckOutline([]).actions).toEqual([])
    expect(networkCheckOutline([]).headline).toBe(networkCheckSummary([]))
  })
})

describe('a region with several proxy hosts (issue 14 item 5)', () => {
  it('each row’s rule and note name the host that row checked, not the region’s first host', () => {
    const second = '203.0.113.11'
    const rows = withRules(
      [
        check({}),
        check({ target: `${second}:3478`, status: 'blocked' }),
        check({ endpoint: 'tls', check: 'TLS 443', target: `${second}:443`, status: 'refused' }),
      ],
      direct,
    )
    expect(rows.map((row) => row.rule)).toEqual([
      undefined,
      `allow UDP from desktops to ${second} port 3478`,
      undefined,
    ])
    expect(notFirewallNotes(HOST, rows)).toEqual([
      expect.stringMatching(/^203\.0\.113\.11 refused TLS 443: /),
    ])
  })
})
