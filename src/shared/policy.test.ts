import { describe, expect, it } from 'vitest'
import { formatIssuePath, parsePolicy } from './policy'

const region = (id: string): Record<string, unknown> => ({
  id,
  name: id,
  proxyHost: `${id}.example.com`,
  ports: { udp: [3478, 7070], tcp: 443 },
})

describe('parsePolicy', () => {
  it.each([
    ['an empty policy', {}],
    ['version 1', { version: 1 }],
    ['regions with a default', { regions: [region('a'), region('b')], defaultRegion: 'b' }],
    [
      'a region with several proxies (proxyHosts alone)',
      {
        regions: [
          {
            id: 'a',
            name: 'A',
            proxyHosts: ['a1.example.com', 'a2.example.com'],
            ports: { udp: [1, 2], tcp: 443 },
          },
        ],
      },
    ],
    ['auto as default without regions', { defaultRegion: 'auto' }],
    ['a forced mode', { proxyMode: { forced: 2 }, locked: ['cloudProxy'] }],
    ['allowed modes with a default', { proxyMode: { allowed: [1, 2], default: 2 } }],
    [
      'every lock',
      {
        regions: [region('a')],
        defaultRegion: 'a',
        proxyMode: { forced: 1 },
        locked: ['cloudProxy', 'region', 'regions'],
      },
    ],
    ['log level and embedded stack', { logLevel: 'debug', allowEmbeddedStack: false }],
    [
      'an HTTP proxy with basic auth',
      { httpProxy: { host: 'proxy.corp', port: 3128, username: 'u', password: 'p' } },
    ],
  ])('accepts %s', (_name, input) => {
    expect(parsePolicy(input)).toMatchObject({ ok: true })
  })

  it.each([
    ['not an object', [], '(top level)', 'expected object'],
    ['a later version', { version: 2 }, 'version', ''],
    ['an unknown field (typo)', { regoins: [] }, 'regoins', 'unknown field'],
    [
      'an unknown region field',
      { regions: [{ ...region('a'), proxyHots: 'x' }] },
      'regions[0].proxyHots',
      'unknown field',
    ],
    [
      'a region without proxyHost',
      { regions: [{ id: 'a', name: 'A', ports: { udp: [1, 2], tcp: 443 } }] },
      'regions[0].proxyHost',
      'required',
    ],
    [
      'a proxy host twice',
      { regions: [{ ...region('a'), proxyHosts: ['a.example.com', 'b.example.com', 'b.example.com'] }] },
      'regions[0].proxyHosts[2]',
      'twice',
    ],
    [
      'a proxy host with a port',
      { regions: [{ ...region('a'), proxyHosts: ['a.example.com:443'] }] },
      'regions[0].proxyHosts[0]',
      'not a host name',
    ],
    [
      'a bad TCP port',
      { regions: [{ ...region('a'), ports: { udp: [3478, 7070], tcp: 70000 } }] },
      'regions[0].ports.tcp',
      '',
    ],
    [
      'a bad fingerprint',
      { regions: [{ ...region('a'), tlsFingerprintSha256: 'AB:CD' }] },
      'regions[0].tlsFingerprintSha256',
      'fingerprint',
    ],
    ['no regions (empty list)', { regions: [] }, 'regions', ''],
    ['duplicate region ids', { regions: [region('a'), region('a')] }, 'regions[1].id', 'duplicate'],
    ['a region called auto', { regions: [region('auto')] }, 'regions[0].id', 'reserved'],
    [
      'a default region not in regions',
      { regions: [region('a')], defaultRegion: 'b' },
      'defaultRegion',
      'not the id',
    ],
    ['a default region without regions', { defaultRegion: 'a' }, 'defaultRegion', 'needs "regions"'],
    ['an unknown proxy mode', { proxyMode: { forced: 4 } }, 'proxyMode.forced', 'expected a proxy mode'],
    ['forced and allowed together', { proxyMode: { forced: 2, allowed: [2] } }, 'proxyMode', 'exactly one'],
    ['neither forced nor allowed', { proxyMode: {} }, 'proxyMode', 'exactly one'],
    ['a default with forced', { proxyMode: { forced: 2, default: 2 } }, 'proxyMode.default', 'goes with'],
    ['no allowed modes', { proxyMode: { allowed: [] } }, 'proxyMode.allowed', ''],
    ['a default outside allowed', { proxyMode: { allowed: [1], default: 2 } }, 'proxyMode.default', 'one of'],
    ['a mode allowed twice', { proxyMode: { allowed: [1, 1] } }, 'proxyMode.allowed', 'twice'],
    ['an unknown locked field', { locked: ['logLevel'] }, 'locked[0]', ''],
    ['cloudProxy locked without a mode', { locked: ['cloudProxy'] }, 'locked', 'needs proxyMode'],
    [
      'cloudProxy locked over allowed without default',
      { proxyMode: { allowed: [1, 2] }, locked: ['cloudProxy'] },
      'locked',
      'needs proxyMode.default',
    ],
    ['region locked without default', { locked: ['region'] }, 'locked', 'needs defaultRegion'],
    ['regions locked without regions', { locked: ['regions'] }, 'locked', 'needs regions'],
    ['an unknown log level', { logLevel: 'verbose' }, 'logLevel', ''],
    [
      'allowEmbeddedStack as a string',
      { allowEmbeddedStack: 'no' },
      'allowEmbeddedStack',
      'expected boolean',
    ],
    ['an HTTP proxy without port', { httpProxy: { host: 'proxy.corp' } }, 'httpProxy.port', 'required'],
    [
      'a username without password',
      { httpProxy: { host: 'p', port: 3128, username: 'u' } },
      'httpProxy',
      'both or neither',
    ],
  ])('refuses %s, naming %s', (_name, input, path, message) => {
    const result = parsePolicy(input)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.issues).toContainEqual({ path, message: expect.stringContaining(message) })
  })
})

describe('formatIssuePath', () => {
  it.each([
    [[], '(top level)'],
    [['regions', 0, 'ports', 'tcp'], 'regions[0].ports.tcp'],
    [['httpProxy'], 'httpProxy'],
  ])('formats %j as %s', (path, text) => {
    expect(formatIssuePath(path)).toBe(text)
  })
})
