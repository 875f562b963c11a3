import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { SFU_DEFAULTS } from '../sfu'
import { ConfigError, loadConfig, parseConfig, type ServerConfigInput } from './config'
import { SERVER_DEFAULTS } from './defaults'

const EXAMPLE = fileURLToPath(new URL('../../resources/server.example.yaml', import.meta.url))
const LOCAL = fileURLToPath(new URL('../../resources/server.local.yaml', import.meta.url))

function minimal(): ServerConfigInput {
  return {
    apps: [{ appKey: 'app', secret: 'a-secret-of-16-chars' }],
    proxy: {
      publicAddress: '203.0.113.10',
      turnSecret: 'turn-secret-16-chars',
      peers: { allow: ['10.0.0.0/24'] },
      signal: { upstream: 'ws://10.0.0.5:8080/v1/signal' },
    },
  }
}

/** A minimal config with one field changed: `with_('proxy.ports.udp', [1, 2])`; undefined deletes it. */
function with_(path: string, value: unknown): Record<string, unknown> {
  const config = structuredClone(minimal()) as Record<string, unknown>
  const keys = path.split('.')
  let node = config
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {}
    node = node[key] as Record<string, unknown>
  }
  const last = keys[keys.length - 1]!
  if (value === undefined) delete node[last]
  else node[last] = value
  return config
}

const dir = mkdtempSync(join(tmpdir(), 'pinhole-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
function write(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

describe('parseConfig', () => {
  it('fills every default from defaults.ts', () => {
    const config = parseConfig(minimal())
    const proxy = config.proxy!

    expect(config.log.level).toBe('info')
    expect(proxy.enabled).toBe(true)
    expect(proxy.ports).toEqual({ udp: [3478, 7070], tcp: 443 })
    expect(proxy.relay).toEqual({
      listenHost: '0.0.0.0',
      address: '203.0.113.10',
      portRange: [49152, 65535],
    })
    expect(proxy.tls).toEqual({})
    expect(proxy.allocations).toEqual(SERVER_DEFAULTS.proxy.allocations)
    expect(proxy.timeouts).toEqual(SERVER_DEFAULTS.proxy.timeouts)
    expect(proxy.limits).toEqual(SERVER_DEFAULTS.proxy.limits)
    expect(proxy.rateLimit).toEqual(SERVER_DEFAULTS.proxy.rateLimit)
    expect(proxy.peers.allowLoopback).toBe(false)
    expect(config.admin).toEqual({ host: '127.0.0.1', port: 9464, allowRemote: false })
    expect(config.sfu).toMatchObject({ enabled: false, port: SFU_DEFAULTS.port })
  })

  it.each<[string, Record<string, unknown>, string]>([
    [
      'udp port out of range',
      with_('proxy.ports', { udp: [3478, 70000] }),
      'proxy.ports.udp[1]: expected a port 1-65535',
    ],
    [
      'udp port not an integer',
      with_('proxy.ports', { udp: [3478.5] }),
      'proxy.ports.udp[0]: expected a port',
    ],
    ['udp port a string', with_('proxy.ports', { udp: ['3478'] }), 'proxy.ports.udp[0]: expected a port'],
    [
      'duplicate udp ports',
      with_('proxy.ports', { udp: [3478, 3478] }),
      'proxy.ports.udp[1]: duplicate port 3478',
    ],
    [
      'too many udp ports',
      with_('proxy.ports', { udp: [1, 2, 3, 4, 5] }),
      'proxy.ports.udp: expected 1 to 4',
    ],
    ['no udp ports', with_('proxy.ports', { udp: [] }), 'proxy.ports.udp: expected 1 to 4'],
    ['tcp port negative', with_('proxy.ports', { tcp: -1 }), 'proxy.ports.tcp: expected a port'],
    ['unknown top-level key', with_('extra', 1), 'extra: unknown field'],
    ['unknown nested key', with_('proxy.publicAdress', '1.2.3.4'), 'proxy.publicAdress: unknown field'],
    ['missing publicAddress', with_('proxy.publicAddress', undefined), 'proxy.publicAddress: required'],
    [
      'wildcard publicAddress',
      with_('proxy.publicAddress', '0.0.0.0'),
      'proxy.publicAddress: expected an address',
    ],
    ['bracketed IPv6', with_('proxy.publicAddress', '[2001:db8::1]'), 'proxy.publicAddress: expected an IP'],
    ['missing turnSecret', with_('proxy.turnSecret', undefined), 'proxy.turnSecret: required'],
    ['short turnSecret', with_('proxy.turnSecret', 'short'), 'proxy.turnSecret: expected at least 16'],
    ['turnSecret a number', with_('proxy.turnSecret', 1234), 'proxy.turnSecret: expected'],
    ['missing peers', with_('proxy.peers', undefined), 'proxy.peers: required'],
    ['missing peers.allow', with_('proxy.peers', {}), 'proxy.peers.allow: required'],
    ['empty peers.allow', with_('proxy.peers', { allow: [] }), 'proxy.peers.allow: expected at least one'],
    [
      'bad CIDR',
      with_('proxy.peers', { allow: ['10.0.0.0/24', '10.0.0.0/33'] }),
      'proxy.peers.allow[1]: expected',
    ],
    [
      'bare IP is not a CIDR',
      with_('proxy.peers', { allow: ['10.0.0.1'] }),
      'proxy.peers.allow[0]: expected',
    ],
    ['bad IPv6 CIDR', with_('proxy.peers', { allow: ['2001:db8::/129'] }), 'proxy.peers.allow[0]: expected'],
    ['missing signal', with_('proxy.signal', undefined), 'proxy.signal.upstream: required'],
    ['missing upstream', with_('proxy.signal', {}), 'proxy.signal.upstream: required'],
    [
      'http upstream',
      with_('proxy.signal', { upstream: 'http://x/' }),
      'proxy.signal.upstream: expected a ws://',
    ],
    ['garbage upstream', with_('proxy.signal', { upstream: 'not a url' }), 'proxy.signal.upstream: expected'],
    ['only certFile', with_('proxy.tls', { certFile: '/c.pem' }), 'proxy.tls.keyFile: set both'],
    ['only keyFile', with_('proxy.tls', { keyFile: '/k.pem' }), 'proxy.tls.certFile: set both'],
    [
      'credential TTL too short',
      with_('proxy.credentialTtlSeconds', 5),
      'proxy.credentialTtlSeconds: expected',
    ],
    [
      'nonce TTL too long',
      with_('proxy.nonceTtlSeconds', 7200),
      'proxy.nonceTtlSeconds: expected an integer',
    ],
    [
      'frame too small',
      with_('proxy.limits', { maxFrameBytes: 100 }),
      'proxy.limits.maxFrameBytes: expected',
    ],
    [
      'frame too big',
      with_('proxy.limits', { maxFrameBytes: 65536 }),
      'proxy.limits.maxFrameBytes: expected',
    ],
    ['zero rate limit', with_('proxy.rateLimit', { burst: 0 }), 'proxy.rateLimit.burst: expected'],
    [
      'relay range reversed',
      with_('proxy.relay', { portRange: [60000, 50000] }),
      'proxy.relay.portRange: expected',
    ],
    ['relay range not a pair', with_('proxy.relay', { portRange: [50000] }), 'proxy.relay.portRange'],
    [
      'relay address a name',
      with_('proxy.relay', { address: 'relay.example' }),
      'proxy.relay.address: expected',
    ],
    ['bad log level', with_('log', { level: 'verbose' }), 'log.level:'],
    ['no apps', with_('apps', []), 'apps: expected at least one'],
    [
      'short app secret',
      with_('apps', [{ appKey: 'a', secret: 'short' }]),
      'apps[0].secret: expected at least 16',
    ],
    [
      'empty appKey',
      with_('apps', [{ appKey: '', secret: 'x'.repeat(16) }]),
      'apps[0].appKey: expected 1-64',
    ],
    [
      'duplicate appKey',
      with_('apps', [
        { appKey: 'a', secret: 'x'.repeat(16) },
        { appKey: 'a', secret: 'y'.repeat(16) },
      ]),
      'apps[1].appKey: duplicate appKey',
    ],
    ['admin on a public address', with_('admin', { host: '0.0.0.0' }), 'admin.host: expected a loopback'],
    ['admin port too big', with_('admin', { port: 65536 }), 'admin.port: expected a port'],
    [
      'max lifetime below default',
      with_('proxy.allocations', { defaultLifetimeSeconds: 600, maxLifetimeSeconds: 300 }),
      'proxy.allocations.maxLifetimeSeconds: expected at least defaultLifetimeSeconds',
    ],
    [
      'DNS publicAddress without relay address',
      with_('proxy.publicAddress', 'turn.example.com'),
      'proxy.relay.address',
    ],
    ['top level not an object', { ...minimal(), proxy: 'yes' }, 'proxy: expected object, got string'],
    ['unknown sfu field', with_('sfu', { maxParticipant: 3 }), 'sfu.maxParticipant: unknown field'],
    ['sfu port out of range', with_('sfu', { port: 70000 }), 'sfu.port: expected an integer from 0 to 65535'],
    ['sfu wildcard announced', with_('sfu', { announcedAddress: '0.0.0.0' }), 'sfu.announcedAddress:'],
    ['sfu enabled not a boolean', with_('sfu', { enabled: 'yes' }), 'sfu.enabled: expected boolean'],
  ])('%s → names the field', (_name, input, expected) => {
    expect(() => parseConfig(input)).toThrow(ConfigError)
    expect(() => parseConfig(input)).toThrow(expected)
  })

  it('lists every issue, each with its path', () => {
    const input = with_('proxy.ports', { udp: [0, 70000], tcp: 'x' })

    const error = captureConfigError(() => parseConfig(input))

    expect(error.code).toBe('invalid')
    expect(error.issues.map((i) => i.path)).toEqual(['proxy.ports.udp[1]', 'proxy.ports.tcp'])
  })

  it.each<[string, Record<string, unknown>]>([
    ['port 0 everywhere (tests)', { ...with_('proxy.ports', { udp: [0, 0], tcp: 0 }), admin: { port: 0 } }],
    ['IPv6 publicAddress', with_('proxy.publicAddress', '2001:db8::10')],
    ['DNS publicAddress with relay address', { ...with_('proxy.publicAddress', 'turn.example.com') }],
    ['admin on ::1', with_('admin', { host: '::1' })],
    ['admin on localhost', with_('admin', { host: 'localhost' })],
    ['admin remote when allowed', with_('admin', { host: '0.0.0.0', allowRemote: true })],
    ['an sfu section beside the proxy', with_('sfu', { enabled: true, port: 0, devTokens: true })],
    ['IPv6 peers', with_('proxy.peers', { allow: ['2001:db8::/64'], allowLoopback: true })],
    ['unlimited bandwidth', with_('proxy.allocations', { bandwidthBytesPerSecond: 0 })],
    ['wss upstream', with_('proxy.signal', { upstream: 'wss://sfu.example.com/v1/signal' })],
    ['own certificate', with_('proxy.tls', { certFile: '/c.pem', keyFile: '/k.pem' })],
  ])('accepts %s', (name, input) => {
    if (name.startsWith('DNS')) (input.proxy as Record<string, unknown>).relay = { address: '203.0.113.10' }

    expect(() => parseConfig(input)).not.toThrow()
  })

  it('treats empty YAML sections (null) as absent', () => {
    const config = parseConfig({
      ...minimal(),
      log: null,
      sfu: null,
      proxy: { ...minimal().proxy, tls: null },
    })

    expect(config.log.level).toBe('info')
    expect(config.proxy!.tls).toEqual({})
    expect(config.sfu.enabled).toBe(false)
  })
})

describe('parseConfig: proxy.fastPath', () => {
  it('defaults to auto: the native fast path when it is built (docs/proxy.md §8)', () => {
    expect(parseConfig(minimal()).proxy!.fastPath).toBe('auto')
  })

  it.each(['auto', 'native', 'js'] as const)('accepts %s', (mode) => {
    expect(parseConfig(with_('proxy.fastPath', mode)).proxy!.fastPath).toBe(mode)
  })

  it('refuses anything else, naming the field', () => {
    expect(() => parseConfig(with_('proxy.fastPath', 'fast'))).toThrow(/proxy\.fastPath/)
  })
})

describe('parseConfig: connection limits (docs/proxy.md §5.1)', () => {
  it('defaults the unauthenticated share, the per-IP allowance and the signaling join deadline', () => {
    const proxy = parseConfig(minimal()).proxy!
    expect(proxy.limits).toMatchObject({ unauthenticatedPercent: 50, unauthenticatedPerIp: 128 })
    expect(proxy.signal).toMatchObject({ joinTimeoutMs: 5000, unjoinedPerIp: 64 })
    expect(
      parseConfig(with_('proxy.limits.unauthenticatedPerIp', 2000)).proxy!.limits.unauthenticatedPerIp,
    ).toBe(2000)
  })

  it.each([
    ['proxy.limits.unauthenticatedPercent', 0],
    ['proxy.limits.unauthenticatedPercent', 101],
    ['proxy.limits.unauthenticatedPerIp', 0],
    ['proxy.signal.unjoinedPerIp', 1.5],
    ['proxy.signal.joinTimeoutMs', 10],
  ])('refuses %s = %s, naming the field', (path, value) => {
    expect(() => parseConfig(with_(path, value))).toThrow(new RegExp(path.replaceAll('.', '\\.')))
  })
})

describe('parseConfig: what runs (proxy optional, sfu off by default)', () => {
  const apps = minimal().apps
  const proxy = minimal().proxy!

  it('runs a conference server alone: no proxy section needed', () => {
    const config = parseConfig({ apps, sfu: { enabled: true, port: 0 } })

    expect(config.proxy).toBeUndefined()
    expect(config.sfu).toMatchObject({ enabled: true, port: 0, listenHost: SFU_DEFAULTS.listenHost })
  })

  it('runs both from one config', () => {
    const config = parseConfig({ apps, proxy, sfu: { enabled: true } })

    expect(config.proxy!.enabled).toBe(true)
    expect(config.sfu.enabled).toBe(true)
  })

  it('accepts a disabled proxy section beside an enabled conference server, still validating it', () => {
    const input = { apps, proxy: { ...proxy, enabled: false }, sfu: { enabled: true } }

    expect(parseConfig(input).proxy!.enabled).toBe(false)
    expect(() => parseConfig({ ...input, proxy: { ...input.proxy, turnSecret: 'short' } })).toThrow(
      'proxy.turnSecret: expected at least 16',
    )
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['no section at all', { apps }, 'nothing to run: expected a proxy section'],
    ['the sfu section alone, disabled', { apps, sfu: { port: 0 } }, 'nothing to run'],
    ['proxy disabled, no sfu', { apps, proxy: { ...proxy, enabled: false } }, 'nothing to run'],
    [
      'both disabled',
      { apps, proxy: { ...proxy, enabled: false }, sfu: { enabled: false } },
      'nothing to run',
    ],
    ['sfu alone without apps', { sfu: { enabled: true } }, 'apps: expected at least one'],
    ['both without apps', { proxy, sfu: { enabled: true } }, 'apps: expected at least one'],
  ])('refuses %s', (_name, input, expected) => {
    const error = captureConfigError(() => parseConfig(input))

    expect(error.message).toContain(expected)
    expect(error.issues).toHaveLength(1)
  })

  it('names the whole document when nothing runs (no field to blame)', () => {
    const error = captureConfigError(() => parseConfig({ apps }))

    expect(error.issues[0]!.path).toBe('')
    expect(error.message).toMatch(/^nothing to run: .*sfu\.enabled: true$/)
  })
})

describe('loadConfig', () => {
  it('loads the example file', () => {
    const config = loadConfig({ file: EXAMPLE, env: {} })

    expect(config.proxy!.publicAddress).toBe('203.0.113.10')
    expect(config.proxy!.region).toBe('shanghai')
    expect(config.apps).toHaveLength(1)
    expect(config.sfu.enabled).toBe(false)
  })

  it('validates the commented sfu section of the example, uncommented', () => {
    const text = readFileSync(EXAMPLE, 'utf8')
    const at = text.indexOf('\n# sfu:\n')
    expect(at).toBeGreaterThan(0)
    const uncommented = text.slice(0, at) + text.slice(at).replace(/^# (sfu:| {2}.*)$/gm, '$1')

    const config = loadConfig({ file: write('example-sfu.yaml', uncommented), env: {} })

    expect(config.sfu.enabled).toBe(true)
    expect(config.sfu.announcedAddress).toBe('10.20.0.5')
  })

  it('loads the local file: proxy and conference server on 127.0.0.1, pointing at each other', () => {
    const config = loadConfig({ file: LOCAL, env: {} })
    const proxy = config.proxy!

    expect(proxy.enabled && config.sfu.enabled).toBe(true)
    expect(proxy.publicAddress).toBe('127.0.0.1')
    expect(proxy.signal.upstream).toBe(`ws://127.0.0.1:${config.sfu.port}/v1/signal`)
    expect(proxy.peers).toEqual({ allow: ['127.0.0.1/32'], allowLoopback: true })
    expect(config.sfu.announcedAddress).toBe('127.0.0.1')
    expect(config.sfu.devTokens).toBe(true)
    expect(config.admin).toEqual({ host: '127.0.0.1', port: 9464, allowRemote: false })
  })

  it('turns the conference server on from the environment', () => {
    const file = write('sfu-env.yaml', stringify(minimal()))

    const config = loadConfig({ file, env: { PINHOLE__sfu__enabled: 'true', PINHOLE__sfu__port: '0' } })

    expect(config.sfu).toMatchObject({ enabled: true, port: 0 })
  })

  it('loads YAML and JSON, by extension or by content', () => {
    const yamlFile = write('a.yaml', stringify(minimal()))
    const jsonFile = write('a.json', JSON.stringify(minimal()))
    const jsonNoExt = write('a.conf', JSON.stringify(minimal(), null, 2))
    const yamlNoExt = write('b.conf', stringify(minimal()))

    const loaded = [yamlFile, jsonFile, jsonNoExt, yamlNoExt].map((file) => loadConfig({ file, env: {} }))

    for (const config of loaded) expect(config).toEqual(parseConfig(minimal()))
  })

  it('takes the file from PINHOLE_CONFIG', () => {
    const file = write('env.yaml', stringify(minimal()))

    expect(loadConfig({ env: { PINHOLE_CONFIG: file } }).proxy!.publicAddress).toBe('203.0.113.10')
  })

  it('applies PINHOLE__ overrides: JSON when it parses, else a string', () => {
    const file = write('override.yaml', stringify(minimal()))

    const config = loadConfig({
      file,
      env: {
        PINHOLE__proxy__publicAddress: '198.51.100.7',
        PINHOLE__proxy__ports__udp: '[3479]',
        PINHOLE__proxy__ports__tcp: '8443',
        PINHOLE__proxy__peers__allowLoopback: 'true',
        PINHOLE__apps__0__secret: 'another-secret-16-chars',
        PINHOLE__log__level: 'debug',
        PINHOLE__proxy__turnSecret: '"1234567890123456"',
        UNRELATED: 'x',
      },
    })

    expect(config.proxy!.publicAddress).toBe('198.51.100.7')
    expect(config.proxy!.relay.address).toBe('198.51.100.7')
    expect(config.proxy!.ports).toEqual({ udp: [3479], tcp: 8443 })
    expect(config.proxy!.peers.allowLoopback).toBe(true)
    expect(config.apps[0]!.secret).toBe('another-secret-16-chars')
    expect(config.log.level).toBe('debug')
    expect(config.proxy!.turnSecret).toBe('1234567890123456')
  })

  it('builds a whole config from the environment alone', () => {
    const env: Record<string, string> = {
      PINHOLE__apps: JSON.stringify(minimal().apps),
      PINHOLE__proxy: JSON.stringify(minimal().proxy),
      PINHOLE__admin__port: '0',
    }

    expect(loadConfig({ env }).admin.port).toBe(0)
  })

  it('names the variable when an override is invalid', () => {
    const file = write('bad-override.yaml', stringify(minimal()))

    const load = (): unknown => loadConfig({ file, env: { PINHOLE__proxy__ports__tcp: '99999' } })

    expect(load).toThrow(
      'proxy.ports.tcp: expected a port 1-65535 (or 0 for any free port) (set by PINHOLE__proxy__ports__tcp)',
    )
  })

  it.each<[string, string, string, () => unknown]>([
    ['missing file', 'unreadable', 'ENOENT', () => loadConfig({ file: join(dir, 'nope.yaml'), env: {} })],
    ['bad YAML', 'unparsable', 'YAML', () => loadConfig({ file: write('bad.yaml', 'a: [1,\n'), env: {} })],
    ['bad JSON', 'unparsable', 'JSON', () => loadConfig({ file: write('bad.json', '{"a":'), env: {} })],
    [
      'duplicate key',
      'unparsable',
      'YAML',
      () => loadConfig({ file: write('d.yaml', 'a: 1\na: 2\n'), env: {} }),
    ],
    [
      'a list at the top',
      'invalid',
      'mapping',
      () => loadConfig({ file: write('l.yaml', '- 1\n'), env: {} }),
    ],
    ['nothing configured', 'missing', '--config', () => loadConfig({ env: {} })],
    [
      'empty segment',
      'invalid',
      'PINHOLE__proxy____x',
      () => loadConfig({ env: { PINHOLE__proxy____x: '1' } }),
    ],
  ])('%s → ConfigError %s', (_name, code, text, load) => {
    const error = captureConfigError(load)

    expect(error.code).toBe(code)
    expect(error.message).toContain(text)
  })
})

function captureConfigError(fn: () => unknown): ConfigError {
  expect(fn).toThrow(ConfigError)
  try {
    fn()
  } catch (err) {
    return err as ConfigError
  }
  throw new Error('unreachable: fn threw above')
}
