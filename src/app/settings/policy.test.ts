import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Region } from '../../shared/engine'
import type { Policy } from '../../shared/policy'
import {
  effectiveSettings,
  INVALID_POLICY_FALLBACK,
  loadPolicy,
  POLICY_FILE_ENV,
  POLICY_MAX_BYTES,
  policyPath,
  type PolicyLoad,
  type UserSettings,
} from './policy'

const dir = mkdtempSync(join(tmpdir(), 'pinhole-policy-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const region = (id: string): Region => ({
  id,
  name: id.toUpperCase(),
  proxyHost: `${id}.example.com`,
  ports: { udp: [3478, 7070], tcp: 443 },
})

describe('policyPath', () => {
  it.each([
    ['linux', {}, undefined, '/etc/pinhole/policy.json'],
    ['freebsd', {}, undefined, '/etc/pinhole/policy.json'],
    ['darwin', {}, undefined, '/Library/Application Support/Pinhole/policy.json'],
    ['win32', { ProgramData: 'C:\\ProgramData' }, undefined, 'C:\\ProgramData\\Pinhole\\policy.json'],
    ['win32', { ProgramData: 'D:\\Data' }, undefined, 'D:\\Data\\Pinhole\\policy.json'],
    ['win32', {}, undefined, 'C:\\ProgramData\\Pinhole\\policy.json'],
    // The variable is for tests and development only: an installed app ignores it.
    ['linux', { [POLICY_FILE_ENV]: '/tmp/p.json' }, false, '/etc/pinhole/policy.json'],
    ['linux', { [POLICY_FILE_ENV]: '/tmp/p.json' }, true, '/tmp/p.json'],
    ['win32', { [POLICY_FILE_ENV]: 'C:\\t\\p.json' }, true, 'C:\\t\\p.json'],
    ['linux', { [POLICY_FILE_ENV]: '' }, true, '/etc/pinhole/policy.json'],
  ] as const)('%s %j (env allowed: %s) → %s', (platform, env, allowEnvOverride, expected) => {
    expect(policyPath({ platform, env, allowEnvOverride })).toBe(expected)
  })

  it('takes an explicit path over the variable and the platform', () => {
    const env = { [POLICY_FILE_ENV]: '/tmp/env.json' }
    expect(policyPath({ platform: 'linux', env, allowEnvOverride: true, path: '/x/p.json' })).toBe(
      '/x/p.json',
    )
  })
})

describe('loadPolicy', () => {
  const file = (name: string, content: string): string => {
    const path = join(dir, name)
    writeFileSync(path, content)
    return path
  }

  it('is none when the file does not exist', () => {
    const path = join(dir, 'absent', 'policy.json')
    expect(loadPolicy({ path })).toEqual({ status: 'none', path })
  })

  it('loads a valid policy, with or without a byte order mark', () => {
    const policy = { regions: [region('sh')], logLevel: 'debug' }
    for (const text of [JSON.stringify(policy), `\ufeff${JSON.stringify(policy)}`]) {
      const path = file('valid.json', text)
      expect(loadPolicy({ path })).toEqual({ status: 'valid', path, policy })
    }
  })

  it('validates resources/policy.example.json', () => {
    const result = loadPolicy({ path: join(process.cwd(), 'resources/policy.example.json') })
    expect(result).toMatchObject({ status: 'valid' })
  })

  it('reads the location given by the variable in development', () => {
    const path = file('env.json', '{"logLevel":"warn"}')
    const result = loadPolicy({ env: { [POLICY_FILE_ENV]: path }, allowEnvOverride: true })
    expect(result).toEqual({ status: 'valid', path, policy: { logLevel: 'warn' } })
  })

  it.each([
    ['not JSON', () => file('bad.json', '{"regions": ['), '(file)', 'not valid JSON'],
    ['empty', () => file('empty.json', ''), '(file)', 'not valid JSON'],
    ['a schema error', () => file('schema.json', '{"logLevel":"loud"}'), 'logLevel', ''],
    ['a typo', () => file('typo.json', '{"alowEmbeddedStack":false}'), 'alowEmbeddedStack', 'unknown field'],
    [
      'a directory',
      () => (mkdirSync(join(dir, 'd.json'), { recursive: true }), join(dir, 'd.json')),
      '(file)',
      'not a regular file',
    ],
    ['too large', () => file('big.json', ' '.repeat(POLICY_MAX_BYTES + 1)), '(file)', 'larger than'],
  ])('is invalid when %s, naming %s', (_name, make, path, message) => {
    const result = loadPolicy({ path: make() })
    expect(result.status).toBe('invalid')
    if (result.status !== 'invalid') return
    expect(result.issues).toContainEqual({ path, message: expect.stringContaining(message) })
    expect(result.reason).toContain(path)
  })

  it('is invalid when the file exists but cannot be read', () => {
    const readFile = (): string => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })
    }
    expect(loadPolicy({ path: '/etc/pinhole/policy.json', readFile })).toMatchObject({
      status: 'invalid',
      reason: '(file): cannot read: EACCES',
    })
  })
})

const valid = (policy: Policy): PolicyLoad => ({ status: 'valid', path: '/etc/pinhole/policy.json', policy })
const NONE: PolicyLoad = { status: 'none', path: '/etc/pinhole/policy.json' }
const mine = region('mine')
const sh = region('sh')
const fra = region('fra')

describe('effectiveSettings: precedence', () => {
  it.each<[string, UserSettings, PolicyLoad, Record<string, unknown>, string[]]>([
    [
      'no policy: the user settings as they are',
      { cloudProxy: 1, region: 'mine', regions: [mine] },
      NONE,
      { cloudProxy: 1, region: 'mine', regions: [mine], locked: [], allowEmbeddedStack: true, canCall: true },
      [],
    ],
    [
      'no policy, nothing chosen: the app defaults',
      {},
      NONE,
      { cloudProxy: 3, region: 'auto', logLevel: 'info' },
      [],
    ],
    [
      'forced mode wins over the user and locks',
      { cloudProxy: 1 },
      valid({ proxyMode: { forced: 2 } }),
      { cloudProxy: 2, allowedProxyModes: [2], locked: ['cloudProxy'] },
      ['Locked: proxy mode.', 'Your proxy mode (UDP proxy) is replaced by TCP/TLS 443 proxy.'],
    ],
    [
      'an allowed user mode stays',
      { cloudProxy: 1 },
      valid({ proxyMode: { allowed: [1, 2], default: 2 } }),
      { cloudProxy: 1, allowedProxyModes: [1, 2], locked: [] },
      [],
    ],
    [
      'a user mode outside the allowed set is replaced by the default',
      { cloudProxy: 0 },
      valid({ proxyMode: { allowed: [1, 2], default: 2 } }),
      { cloudProxy: 2, locked: [] },
      ['Your proxy mode (no proxy) is not allowed; using TCP/TLS 443 proxy.'],
    ],
    [
      'without a default, by the first allowed mode',
      { cloudProxy: 3 },
      valid({ proxyMode: { allowed: [2, 1] } }),
      { cloudProxy: 2 },
      ['not allowed; using TCP/TLS 443 proxy.'],
    ],
    [
      'cloudProxy locked with allowed modes: the default',
      { cloudProxy: 1 },
      valid({ proxyMode: { allowed: [1, 2], default: 2 }, locked: ['cloudProxy'] }),
      { cloudProxy: 2, locked: ['cloudProxy'] },
      ['replaced by TCP/TLS 443 proxy'],
    ],
    [
      'policy regions first, then the user regions',
      { regions: [mine] },
      valid({ regions: [sh, fra] }),
      { regions: [sh, fra, mine], region: 'auto', allowEmbeddedStack: false },
      [],
    ],
    [
      'a user region with a policy id is the policy one',
      { regions: [{ ...sh, proxyHost: 'evil.example.com' }] },
      valid({ regions: [sh] }),
      { regions: [sh] },
      [],
    ],
    [
      'regions locked: only the policy regions, and a user region choice among them stays',
      { region: 'fra', regions: [mine] },
      valid({ regions: [sh, fra], locked: ['regions'] }),
      { regions: [sh, fra], region: 'fra', locked: ['regions'] },
      ['Locked: region list.'],
    ],
    [
      'regions locked: a user region no longer offered falls back to the default region',
      { region: 'mine', regions: [mine] },
      valid({ regions: [sh, fra], defaultRegion: 'fra', locked: ['regions'] }),
      { region: 'fra' },
      ['Your region "mine" is not offered; using "fra".'],
    ],
    [
      'the default region applies when the user never chose one',
      {},
      valid({ regions: [sh, fra], defaultRegion: 'fra' }),
      { region: 'fra', locked: [] },
      [],
    ],
    [
      'region locked: the default region whatever the user chose',
      { region: 'sh' },
      valid({ regions: [sh, fra], defaultRegion: 'auto', locked: ['region'] }),
      { region: 'auto', locked: ['region'] },
      ['Your region "sh" is replaced by "auto".'],
    ],
    [
      'every lock at once, listed in a fixed order',
      { cloudProxy: 3, region: 'mine', regions: [mine] },
      valid({
        regions: [sh],
        defaultRegion: 'sh',
        proxyMode: { forced: 1 },
        locked: ['regions', 'region', 'cloudProxy'],
      }),
      { cloudProxy: 1, region: 'sh', regions: [sh], locked: ['cloudProxy', 'region', 'regions'] },
      ['Locked: proxy mode, region, region list.'],
    ],
    [
      'log level, embedded stack and HTTP proxy come from the policy',
      {},
      valid({ logLevel: 'debug', allowEmbeddedStack: true, httpProxy: { host: 'proxy.corp', port: 3128 } }),
      { logLevel: 'debug', allowEmbeddedStack: true, httpProxy: { host: 'proxy.corp', port: 3128 } },
      ['Settings managed by your IT policy (/etc/pinhole/policy.json).'],
    ],
    [
      'a policy without regions leaves the embedded stack allowed',
      {},
      valid({ logLevel: 'warn' }),
      { allowEmbeddedStack: true, canCall: true },
      [],
    ],
  ])('%s', (_name, user, load, expected, notices) => {
    const settings = effectiveSettings(user, load)
    expect(settings).toMatchObject(expected)
    for (const sentence of notices) expect(settings.policyNotice).toContain(sentence)
    if (load.status === 'none') expect(settings.policyNotice).toBeUndefined()
    else expect(settings.policyNotice).toMatch(/^Settings managed by your IT policy/)
  })
})

describe('effectiveSettings: an invalid policy', () => {
  const load = loadPolicy({
    path: join(dir, 'half.json'),
    readFile: () => '{"regions":[{"id":"x"}],"logLevel":"trace"}',
  })

  it('applies nothing of it nor of the user: the restrictive fallback', () => {
    const settings = effectiveSettings({ cloudProxy: 1, region: 'mine', regions: [mine] }, load)
    expect(settings).toMatchObject({
      ...INVALID_POLICY_FALLBACK,
      cloudProxy: 2,
      regions: [],
      canCall: false,
      allowEmbeddedStack: false,
      logLevel: 'info',
      locked: ['cloudProxy', 'region', 'regions'],
      policy: { status: 'invalid' },
    })
    expect(settings.httpProxy).toBeUndefined()
  })

  it('says why and what to do in the notice, naming the field', () => {
    const notice = effectiveSettings({}, load).policyNotice
    expect(notice).toContain(`The IT policy ${join(dir, 'half.json')} is invalid`)
    expect(notice).toContain('regions[0].name: required')
    expect(notice).toContain('cannot make calls')
  })
})
