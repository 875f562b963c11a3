import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPeerPolicy, parseCidr, type PeerRefusal } from './peerPolicy'

type Case = [ip: string, expected: PeerRefusal | 'ok']

const verdictOf = (policy: (ip: string) => { ok: boolean; reason?: string }, ip: string): string => {
  const verdict = policy(ip)
  return verdict.ok ? 'ok' : verdict.reason!
}

/** Everything is in the allow list, so only the fixed refusals can say no. */
const wideOpen = createPeerPolicy({ allow: ['0.0.0.0/0', '::/0'], allowLoopback: false })

describe('fixed refusals, even with an allow-everything list', () => {
  it.each<Case>([
    // CVE-2020-26262 (coturn): 0.0.0.0, [::1], [::] reached the TURN host itself.
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['[::1]', 'invalid'],
    ['[::]', 'invalid'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    // CVE-2026-27624: the IPv4-mapped spelling of loopback.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:7F00:0001', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:127.1.2.3', 'loopback'],
  ])('CVE case %s → %s', (ip, expected) => {
    expect(verdictOf(wideOpen, ip)).toBe(expected)
  })

  it.each<Case>([
    ['0.1.2.3', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['169.254.0.1', 'link-local'],
    ['169.254.255.255', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
  ])('IPv4 %s → %s', (ip, expected) => {
    expect(verdictOf(wideOpen, ip)).toBe(expected)
  })

  it.each<Case>([
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['FE80::abcd:1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['ff0e::101', 'multicast'],
    ['fd00:ec2::254', 'metadata'],
    ['fd00:0ec2:0:0:0:0:0:0254', 'metadata'],
    ['fec0::1', 'reserved'],
  ])('IPv6 %s → %s', (ip, expected) => {
    expect(verdictOf(wideOpen, ip)).toBe(expected)
  })

  it.each<Case>([
    // IPv4-mapped, dotted and hex (XOR-PEER-ADDRESS decodes to the hex form).
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:0:0', 'unspecified'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:169.254.1.1', 'link-local'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['::ffff:255.255.255.255', 'broadcast'],
    ['::ffff:240.1.1.1', 'reserved'],
    // IPv4-compatible (deprecated): refused for what they embed, and as 'reserved' otherwise.
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::169.254.169.254', 'metadata'],
    ['::2', 'unspecified'],
    ['::8.8.8.8', 'reserved'],
    // SIIT IPv4-translated.
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:a9fe:a9fe', 'metadata'],
    // NAT64 well-known prefix.
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::0.0.0.0', 'unspecified'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::e000:1', 'multicast'],
    // 6to4.
    ['2002:7f00:1::', 'loopback'],
    ['2002:7f00:0001:1234::1', 'loopback'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    ['2002::1', 'unspecified'],
  ])('IPv4 embedded in IPv6 %s → %s', (ip, expected) => {
    expect(verdictOf(wideOpen, ip)).toBe(expected)
  })

  it.each<Case>([
    ['8.8.8.8', 'ok'],
    ['10.1.2.3', 'ok'],
    ['100.64.0.1', 'ok'],
    ['192.0.2.1', 'ok'],
    ['169.253.255.255', 'ok'],
    ['169.255.0.0', 'ok'],
    ['223.255.255.255', 'ok'],
    ['1.0.0.0', 'ok'],
    ['126.255.255.255', 'ok'],
    ['128.0.0.0', 'ok'],
    ['2001:4860:4860::8888', 'ok'],
    ['fc00::1', 'ok'],
    ['fe7f::1', 'ok'],
    ['::ffff:8.8.8.8', 'ok'],
    ['64:ff9b::8.8.8.8', 'ok'],
    ['2002:808:808::1', 'ok'],
    ['::3:0:0:1', 'ok'],
  ])('ordinary address %s → %s', (ip, expected) => {
    expect(verdictOf(wideOpen, ip)).toBe(expected)
  })

  it.each<Case>([
    ['', 'invalid'],
    ['localhost', 'invalid'],
    ['127.1', 'invalid'],
    ['0x7f000001', 'invalid'],
    ['0x7f.0.0.1', 'invalid'],
    ['2130706433', 'invalid'],
    ['0177.0.0.1', 'invalid'],
    ['127.000.000.001', 'invalid'],
    [' 127.0.0.1', 'invalid'],
    ['127.0.0.1 ', 'invalid'],
    ['127.0.0.1/32', 'invalid'],
    ['1.2.3.256', 'invalid'],
    ['::1::', 'invalid'],
    [':::', 'invalid'],
    ['::ffff:127.0.0.1.1', 'invalid'],
    ['1:2:3:4:5:6:7:8:9', 'invalid'],
  ])('unparseable %j → %s', (ip, expected) => {
    expect(verdictOf(wideOpen, ip)).toBe(expected)
  })

  it('any string gets a verdict from the list, never an exception (property)', () => {
    const reasons = new Set([
      'invalid',
      'unspecified',
      'loopback',
      'link-local',
      'multicast',
      'metadata',
      'broadcast',
      'reserved',
      'not-allowed',
    ])
    const narrow = createPeerPolicy({ allow: ['10.0.0.0/8', '2001:db8::/32'], allowLoopback: true })
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV4Extended(), fc.ipV6()), (ip) => {
        for (const policy of [wideOpen, narrow]) {
          const verdict = policy(ip)
          if (!verdict.ok) expect(reasons.has(verdict.reason)).toBe(true)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('a non-string is invalid rather than a crash', () => {
    expect(wideOpen(undefined as unknown as string)).toEqual({ ok: false, reason: 'invalid' })
  })
})

describe('every IPv4 refusal holds in every IPv6 spelling', () => {
  const refusedV4: [string, PeerRefusal][] = [
    ['0.0.0.0', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.0.0.53', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.2', 'link-local'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['250.1.2.3', 'reserved'],
  ]
  const hexOf = (v4: string): [string, string] => {
    const b = v4.split('.').map(Number)
    return [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)]
  }
  const spellings = (v4: string): string[] => {
    const [hi, lo] = hexOf(v4)
    return [
      `::ffff:${v4}`,
      `::ffff:${hi}:${lo}`,
      `0:0:0:0:0:ffff:${hi}:${lo}`,
      `::${v4}`,
      `::ffff:0:${v4}`,
      `64:ff9b::${v4}`,
      `64:ff9b::${hi}:${lo}`,
      `2002:${hi}:${lo}::1`,
    ]
  }
  const cases = refusedV4.flatMap(([v4, reason]) => spellings(v4).map((ip) => [ip, reason] as Case))

  it.each(cases)('%s → %s', (ip, expected) => {
    expect(verdictOf(wideOpen, ip)).toBe(expected)
  })

  it('a mapped address always gets the same verdict as the IPv4 address it names (property)', () => {
    const policies = [
      wideOpen,
      createPeerPolicy({ allow: ['10.0.0.0/8', '192.0.2.0/24'], allowLoopback: false }),
    ]
    fc.assert(
      fc.property(fc.ipV4(), fc.boolean(), fc.constantFrom(0, 1), (v4, hex, which) => {
        const policy = policies[which]!
        const [hi, lo] = hexOf(v4)
        const mapped = hex ? `::ffff:${hi}:${lo}` : `::ffff:${v4}`
        expect(policy(mapped)).toEqual(policy(v4))
      }),
      { numRuns: 2000 },
    )
  })
})

describe('the allow list', () => {
  const narrow = createPeerPolicy({
    allow: ['10.0.0.0/8', '192.0.2.128/25', '2001:db8:1::/48'],
    allowLoopback: false,
  })

  it.each<Case>([
    ['10.0.0.0', 'ok'],
    ['10.1.2.3', 'ok'],
    ['10.255.255.255', 'ok'],
    ['9.255.255.255', 'not-allowed'],
    ['11.0.0.0', 'not-allowed'],
    ['192.0.2.128', 'ok'],
    ['192.0.2.255', 'ok'],
    ['192.0.2.127', 'not-allowed'],
    ['::ffff:10.1.2.3', 'ok'],
    ['::ffff:a01:203', 'ok'],
    ['::ffff:11.0.0.1', 'not-allowed'],
    ['2001:db8:1::5', 'ok'],
    ['2001:db8:1:ffff:ffff:ffff:ffff:ffff', 'ok'],
    ['2001:db8:2::5', 'not-allowed'],
    ['2001:db8::1', 'not-allowed'],
    // NAT64/6to4 spellings of an allowed IPv4 address are other hosts: not allowed by an IPv4 CIDR.
    ['64:ff9b::10.1.2.3', 'not-allowed'],
    ['2002:a01:203::1', 'not-allowed'],
    // Fixed refusals come first.
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
  ])('%s → %s', (ip, expected) => {
    expect(verdictOf(narrow, ip)).toBe(expected)
  })

  it('an IPv4-mapped CIDR is the IPv4 CIDR it spells', () => {
    const policy = createPeerPolicy({ allow: ['::ffff:10.0.0.0/104'], allowLoopback: false })

    expect(verdictOf(policy, '10.9.8.7')).toBe('ok')
    expect(verdictOf(policy, '::ffff:10.9.8.7')).toBe('ok')
    expect(verdictOf(policy, '11.9.8.7')).toBe('not-allowed')
  })

  it('an IPv6 allow-all does not let IPv4 (or IPv4-mapped) peers through', () => {
    const policy = createPeerPolicy({ allow: ['::/0'], allowLoopback: false })

    expect(verdictOf(policy, '8.8.8.8')).toBe('not-allowed')
    expect(verdictOf(policy, '::ffff:8.8.8.8')).toBe('not-allowed')
    expect(verdictOf(policy, '2001:db8::1')).toBe('ok')
  })

  it('an empty allow list refuses everything', () => {
    const policy = createPeerPolicy({ allow: [], allowLoopback: true })

    expect(verdictOf(policy, '10.0.0.1')).toBe('not-allowed')
    expect(verdictOf(policy, '127.0.0.1')).toBe('not-allowed')
  })

  it('an invalid CIDR in the list throws a TypeError when the policy is built', () => {
    expect(() => createPeerPolicy({ allow: ['10.0.0.0/8', '10.0.0.0/33'], allowLoopback: false })).toThrow(
      TypeError,
    )
  })
})

describe('allowLoopback', () => {
  const loopback = createPeerPolicy({ allow: ['127.0.0.0/8', '::1/128'], allowLoopback: true })

  it.each<Case>([
    ['127.0.0.1', 'ok'],
    ['127.10.20.30', 'ok'],
    ['::1', 'ok'],
    ['::ffff:127.0.0.1', 'ok'],
    ['::ffff:7f00:1', 'ok'],
    // Only the loopback rule is lifted.
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:0.0.0.0', 'unspecified'],
    // Other IPv6 spellings of loopback never reach this host legitimately: still refused.
    ['::127.0.0.1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['2002:7f00:1::1', 'loopback'],
    // And loopback peers still need the allow list.
    ['10.0.0.1', 'not-allowed'],
  ])('%s → %s', (ip, expected) => {
    expect(verdictOf(loopback, ip)).toBe(expected)
  })

  it('lifts nothing unless the allow list also covers the loopback address', () => {
    const policy = createPeerPolicy({ allow: ['10.0.0.0/8'], allowLoopback: true })

    expect(verdictOf(policy, '127.0.0.1')).toBe('not-allowed')
    expect(verdictOf(policy, '::1')).toBe('not-allowed')
    expect(verdictOf(policy, '::ffff:127.0.0.1')).toBe('not-allowed')
  })

  it('is off by default in effect: a loopback CIDR alone does not open loopback', () => {
    const policy = createPeerPolicy({ allow: ['127.0.0.0/8', '::1/128'], allowLoopback: false })

    expect(verdictOf(policy, '127.0.0.1')).toBe('loopback')
    expect(verdictOf(policy, '::1')).toBe('loopback')
    expect(verdictOf(policy, '::ffff:127.0.0.1')).toBe('loopback')
  })
})

function outcomeOf(run: () => unknown): 'ok' | 'TypeError' | 'other error' {
  try {
    run()
    return 'ok'
  } catch (error) {
    return error instanceof TypeError ? 'TypeError' : 'other error'
  }
}

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 4, '0a000000', 8],
    ['0.0.0.0/0', 4, '00000000', 0],
    ['192.0.2.1/32', 4, 'c0000201', 32],
    ['172.16.0.0/12', 4, 'ac100000', 12],
    ['2001:db8::/32', 6, '20010db8000000000000000000000000', 32],
    ['::/0', 6, '00000000000000000000000000000000', 0],
    ['::1/128', 6, '00000000000000000000000000000001', 128],
    ['2001:db8:8000::/33', 6, '20010db8800000000000000000000000', 33],
    ['::ffff:10.0.0.0/104', 6, '00000000000000000000ffff0a000000', 104],
  ] as const)('%s', (text, family, network, prefix) => {
    const cidr = parseCidr(text)

    expect(cidr.family).toBe(family)
    expect(cidr.network.toString('hex')).toBe(network)
    expect(cidr.prefix).toBe(prefix)
  })

  it.each([
    ['10.0.0.1', /not a CIDR.*address\/prefix/],
    ['', /not a CIDR/],
    ['10.0.0.0/33', /prefix length must be a whole number from 0 to 32/],
    ['2001:db8::/129', /prefix length must be a whole number from 0 to 128/],
    ['10.0.0.0/-1', /prefix length/],
    ['10.0.0.0/08', /prefix length/],
    ['10.0.0.0/8.0', /prefix length/],
    ['10.0.0.0/', /prefix length/],
    ['10.0.0.0/ 8', /prefix length/],
    ['10.0.0.0/8/8', /prefix length/],
    ['/8', /"" is not an IPv4 or IPv6 address/],
    ['x/8', /"x" is not an IPv4 or IPv6 address/],
    [' 10.0.0.0/8', /is not an IPv4 or IPv6 address/],
    ['10.0.0/8', /is not an IPv4 or IPv6 address/],
    ['fe80::%eth0/64', /is not an IPv4 or IPv6 address/],
    ['10.0.0.1/8', /bits are set beyond the \/8 prefix \(did you mean 10\.0\.0\.0\/8\?\)/],
    ['192.0.2.129/25', /did you mean 192\.0\.2\.128\/25\?/],
    ['2001:db8::1/32', /did you mean 2001:db8::\/32\?/],
  ])('%j throws a TypeError matching %s', (text, message) => {
    expect(() => parseCidr(text)).toThrow(TypeError)
    expect(() => parseCidr(text)).toThrow(message)
  })

  it('a non-string throws a TypeError', () => {
    expect(() => parseCidr(42 as unknown as string)).toThrow(TypeError)
  })

  it('never throws anything but a TypeError, and only for strings it cannot read (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(outcomeOf(() => parseCidr(text))).not.toBe('other error')
      }),
      { numRuns: 2000 },
    )
  })

  it('accepts every valid IPv4 network it is given (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        const network = prefix === 0 ? 0 : (ip & (0xffffffff << (32 - prefix))) >>> 0
        const text = [24, 16, 8, 0].map((s) => (network >>> s) & 0xff).join('.')
        expect(parseCidr(`${text}/${prefix}`).prefix).toBe(prefix)
      }),
    )
  })
})
