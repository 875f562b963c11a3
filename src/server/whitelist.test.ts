import { describe, expect, it } from 'vitest'
import { parseConfig, type ServerConfigInput } from './config'
import {
  formatTable,
  formatWhitelistJson,
  formatWhitelistText,
  whitelistReport,
  whitelistRules,
  type WhitelistReport,
} from './whitelist'

const apps = [{ appKey: 'app', secret: 'a-secret-of-16-chars' }]

function config(
  proxy: Partial<NonNullable<ServerConfigInput['proxy']>> = {},
  sfu?: ServerConfigInput['sfu'],
) {
  return parseConfig({
    apps,
    proxy: {
      publicAddress: '203.0.113.10',
      turnSecret: 'turn-secret-16-chars',
      peers: { allow: ['10.20.0.0/24'] },
      signal: { upstream: 'wss://sfu.internal/v1/signal' },
      ...proxy,
    },
    ...(sfu ? { sfu } : {}),
  })
}

const SFU = { enabled: true, listenHost: '10.20.0.5', port: 8080, announcedAddress: '10.20.0.5' }

describe('whitelistRules', () => {
  it('lists each UDP port and the TCP port on the public address (docs/architecture.md port table)', () => {
    const rules = whitelistRules(config())

    expect(rules.map(({ destination, protocol, port }) => [destination, protocol, port])).toEqual([
      ['203.0.113.10', 'UDP', 3478],
      ['203.0.113.10', 'UDP', 7070],
      ['203.0.113.10', 'TCP', 443],
    ])
    expect(rules[0]!.purpose).toBe('STUN/TURN (media relay)')
    expect(rules[1]!.purpose).toContain('alternate port')
    expect(rules[2]!.purpose).toContain('TURN-over-TLS')
    expect(rules[2]!.purpose).toContain('WebSocket signaling')
  })

  it.each<[string, Partial<NonNullable<ServerConfigInput['proxy']>>, [string, number][]]>([
    [
      'one UDP port',
      { ports: { udp: [3478] } },
      [
        ['UDP', 3478],
        ['TCP', 443],
      ],
    ],
    [
      'custom ports',
      { ports: { udp: [5000, 5001, 5002], tcp: 8443 } },
      [
        ['UDP', 5000],
        ['UDP', 5001],
        ['UDP', 5002],
        ['TCP', 8443],
      ],
    ],
  ])('%s', (_name, proxy, expected) => {
    expect(whitelistRules(config(proxy)).map((r) => [r.protocol, r.port])).toEqual(expected)
  })

  it('is empty when the proxy is disabled or absent', () => {
    expect(whitelistRules(config({ enabled: false }, SFU))).toEqual([])
    expect(whitelistRules(parseConfig({ apps, sfu: SFU }))).toEqual([])
  })

  it('uses a DNS publicAddress as the destination', () => {
    const rules = whitelistRules(
      config({ publicAddress: 'turn.example.com', relay: { address: '203.0.113.10' } }),
    )

    expect(new Set(rules.map((r) => r.destination))).toEqual(new Set(['turn.example.com']))
  })
})

describe('formatWhitelistText', () => {
  it('prints an aligned table and what must stay closed', () => {
    const text = formatWhitelistText(config())
    const lines = text.split('\n')

    const header = lines.find((l) => l.startsWith('destination'))!
    const rows = lines.filter((l) => l.startsWith('203.0.113.10'))
    expect(rows).toHaveLength(3)
    // Every row's columns start where the header's do.
    for (const col of ['protocol', 'port', 'purpose']) {
      const at = header.indexOf(col)
      for (const row of rows) expect(row[at - 1]).toBe(' ')
      for (const row of rows) expect(row[at]).not.toBe(' ')
    }
    expect(text).toMatch(/Do NOT open to desktops: relay port range UDP 49152-65535 .*admin port TCP 9464/)
    expect(text).toContain('10.20.0.0/24')
    expect(text).toContain('sfu.internal  TCP       443')
  })

  it('warns when a port is 0', () => {
    const text = formatWhitelistText(config({ ports: { udp: [0], tcp: 0 } }))

    expect(text).toMatch(/^WARNING: a port is 0/)
  })
})

describe('formatWhitelistJson', () => {
  it('is the same report as JSON', () => {
    const report = JSON.parse(formatWhitelistJson(config())) as WhitelistReport

    expect(report.region).toBe('default')
    expect(report.rules).toEqual(whitelistRules(config()))
    expect(report.doNotOpen.map((c) => [c.what, c.protocol, c.ports])).toEqual([
      ['relay port range', 'UDP', '49152-65535'],
      ['admin port', 'TCP', '9464'],
    ])
    expect(report.proxyOutbound.map((o) => [o.destination, o.protocol, o.ports])).toEqual([
      ['10.20.0.0/24', 'UDP', 'any, from/to relay ports 49152-65535'],
      ['sfu.internal', 'TCP', '443'],
    ])
    expect(report.conferenceInbound).toEqual([])
    expect(report.warnings).toEqual([])
  })
})

describe('whitelist with a conference server', () => {
  it('says no proxy is configured, and what the conference server needs, when it runs alone', () => {
    const report = JSON.parse(formatWhitelistJson(parseConfig({ apps, sfu: SFU }))) as WhitelistReport

    expect(report.region).toBeNull()
    expect(report.rules).toEqual([])
    expect(report.proxyOutbound).toEqual([])
    expect(report.warnings).toEqual([
      expect.stringMatching(/^no proxy configured \(conference server only\)/),
    ])
    expect(report.doNotOpen.map((c) => [c.what, c.protocol, c.ports])).toEqual([
      ['conference server signaling', 'TCP', '8080'],
      ['conference server media', 'UDP', 'ephemeral (set sfu.rtcPortRange to fix them)'],
      ['admin port', 'TCP', '9464'],
    ])
    expect(report.conferenceInbound.map((o) => [o.destination, o.protocol, o.ports])).toEqual([
      ['10.20.0.5', 'TCP', '8080'],
      ['10.20.0.5', 'UDP', 'ephemeral (set sfu.rtcPortRange to fix them)'],
    ])
  })

  it('prints the proxy rules and the inbound rules of the conference server when both run', () => {
    const text = formatWhitelistText(config({}, { ...SFU, rtcPortRange: [40000, 40999] }))

    expect(text).not.toContain('WARNING')
    expect(text.split('\n').filter((l) => l.startsWith('203.0.113.10'))).toHaveLength(3)
    expect(text).toContain('conference server media UDP 40000-40999')
    expect(text).toContain('Into this conference server, from the proxies only')
    expect(text).toMatch(/10\.20\.0\.5 +UDP +40000-40999/)
  })

  it('warns that a disabled proxy needs no whitelist', () => {
    expect(formatWhitelistText(config({ enabled: false }, SFU))).toMatch(
      /^WARNING: proxy.enabled is false: this server needs no whitelist/,
    )
  })
})

describe('whitelist of a proxy placing channels through a cluster', () => {
  const clustered = (redis: string) =>
    parseConfig({
      apps,
      proxy: {
        publicAddress: '203.0.113.10',
        turnSecret: 'turn-secret-16-chars',
        peers: { allow: ['10.20.0.0/24', '10.21.0.0/24'] },
      },
      cluster: { redis },
    })

  it("lists the nodes' signaling inside proxy.peers.allow and the Redis, not a signaling upstream", () => {
    const report = JSON.parse(formatWhitelistJson(clustered('redis://10.20.9.9:6380'))) as WhitelistReport

    expect(report.rules.map((r) => [r.destination, r.protocol, r.port])).toEqual([
      ['203.0.113.10', 'UDP', 3478],
      ['203.0.113.10', 'UDP', 7070],
      ['203.0.113.10', 'TCP', 443],
    ])
    expect(report.proxyOutbound.map((o) => [o.destination, o.protocol, o.ports])).toEqual([
      ['10.20.0.0/24', 'UDP', 'any, from/to relay ports 49152-65535'],
      ['10.21.0.0/24', 'UDP', 'any, from/to relay ports 49152-65535'],
      ['10.20.0.0/24', 'TCP', "each node's sfu.port (and the next ones for its sfu.workers)"],
      ['10.21.0.0/24', 'TCP', "each node's sfu.port (and the next ones for its sfu.workers)"],
      ['10.20.9.9', 'TCP', '6380'],
    ])
    expect(report.proxyOutbound.at(-1)!.purpose).toContain('cluster.redis')
    expect(report.warnings).toEqual([])
  })

  it('prints them as text; a URL without a port is Redis on 6379, rediss:// says TLS', () => {
    const text = formatWhitelistText(clustered('rediss://:pw@redis.internal'))

    expect(text).toContain("Between the proxy and the conference nodes and the cluster's Redis")
    expect(text).toMatch(/redis\.internal +TCP +6379 +Redis of the cluster \(cluster\.redis, TLS\)/)
    expect(text).toMatch(/10\.21\.0\.0\/24 +TCP +each node's sfu\.port/)
    expect(text).not.toContain('pw')
    expect(text).not.toContain('signal.upstream')
  })

  it("says a node of the cluster gets signaling at the address it registers, not a proxy's upstream", () => {
    const node = parseConfig({ apps, sfu: SFU, cluster: { redis: 'redis://10.20.9.9' } })
    const [signaling] = whitelistReport(node).conferenceInbound

    expect([signaling?.destination, signaling?.protocol, signaling?.ports]).toEqual([
      '10.20.0.5',
      'TCP',
      '8080',
    ])
    expect(signaling?.purpose).toContain('registers in cluster.redis')
  })
})

describe('formatTable', () => {
  it('pads every column but the last', () => {
    expect(formatTable(['a', 'bb'], [['xxx', 'y']])).toBe('a    bb\n---  --\nxxx  y')
  })
})
