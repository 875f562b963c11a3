import { describe, expect, it } from 'vitest'
import { TransportType, type Region } from '../shared/engine'
import {
  FLAG_REGION_ID,
  MINTED_TOKEN_TTL_SECONDS,
  UsageError,
  parseDoctorArgs,
  parseJoinArgs,
  parseProxyMode,
  parseUdpPorts,
  type ReadTextFile,
} from './args'

const FP = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':')
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'

const REGIONS: Region[] = [
  { id: 'sh', name: 'Shanghai', proxyHost: '203.0.113.10', ports: { udp: [3478, 7070], tcp: 443 } },
  {
    id: 'bj',
    name: 'Beijing',
    proxyHost: 'proxy-bj.example.com',
    ports: { udp: [3478, 7070], tcp: 8443 },
    tlsFingerprintSha256: FP,
  },
]

/** A fake file system: path → contents; anything else is ENOENT. */
function files(map: Record<string, string>): ReadTextFile {
  return (path) => {
    const text = map[path]
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
    return text
  }
}
const fs = files({ 'regions.json': JSON.stringify(REGIONS), 'ca.pem': CA, 'bad.json': '{not json' })

const usageError = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    if (err instanceof UsageError) return err.message
    throw err
  }
  throw new Error('no UsageError')
}

describe('pinhole doctor arguments', () => {
  it('builds one region from flags, with the default ports and a fingerprint', () => {
    const args = parseDoctorArgs(['--proxy', '10.99.2.2', '--fingerprint', FP.toLowerCase()], fs)
    expect(args).toEqual({
      help: false,
      json: false,
      regions: [
        {
          id: FLAG_REGION_ID,
          name: 'proxy 10.99.2.2',
          proxyHost: '10.99.2.2',
          ports: { udp: [3478, 7070], tcp: 443 },
          tlsFingerprintSha256: FP,
        },
      ],
    })
  })

  it('takes ports, a CA file, a name and an id from flags', () => {
    const argv = ['--proxy', 'p.example', '--udp-ports', '5000,5001', '--tcp-port', '8443', '--ca', 'ca.pem']
    const args = parseDoctorArgs([...argv, '--region', 'dmz', '--name', 'DMZ', '--json'], fs)
    expect(args.json).toBe(true)
    expect(args.regions).toEqual([
      { id: 'dmz', name: 'DMZ', proxyHost: 'p.example', ports: { udp: [5000, 5001], tcp: 8443 }, caPem: CA },
    ])
  })

  it('reads a regions file: every region, or the one --region names', () => {
    expect(parseDoctorArgs(['--regions', 'regions.json'], fs).regions).toEqual(REGIONS)
    expect(parseDoctorArgs(['--regions', 'regions.json', '--region', 'bj'], fs).regions).toEqual([REGIONS[1]])
  })

  it('refuses what it cannot use, naming the flag or the field', () => {
    const cases: [string[], RegExp][] = [
      [[], /--regions FILE or --proxy HOST/],
      [['--regions', 'regions.json', '--proxy', 'h'], /not both/],
      [['--regions', 'regions.json', '--tcp-port', '443'], /--tcp-port describes a --proxy region/],
      [['--regions', 'regions.json', '--region', 'gz'], /--region gz: not one of sh, bj/],
      [['--regions', 'missing.json'], /--regions missing.json: cannot read \(ENOENT\)/],
      [['--regions', 'bad.json'], /not JSON/],
      [['--proxy', 'h', '--udp-ports', '3478'], /two ports/],
      [['--proxy', 'h', '--udp-ports', '3478,70000'], /--udp-ports must be an integer from 1 to 65535/],
      [['--proxy', 'h', '--tcp-port', 'x'], /--tcp-port must be an integer/],
      [['--proxy', 'h', '--fingerprint', 'AB:CD'], /tlsFingerprintSha256: not a SHA-256 fingerprint/],
      [['--proxy', 'h', '--fingerprint', FP, '--ca', 'ca.pem'], /--fingerprint or --ca, not both/],
      [['--proxy', 'h', '--ca', 'nope.pem'], /--ca nope.pem: cannot read/],
      [['--proxy', 'h', '--bogus'], /Unknown option '--bogus'/],
      [['--proxy'], /argument missing/],
    ]
    for (const [argv, message] of cases)
      expect(
        usageError(() => parseDoctorArgs(argv, fs)),
        argv.join(' '),
      ).toMatch(message)
  })

  it('validates a regions file with the shared schema, naming the region and field', () => {
    const bad = [{ ...REGIONS[0], ports: { udp: [3478], tcp: 443 } }]
    const dup = [REGIONS[0], REGIONS[0]]
    const read = files({
      'bad.json': JSON.stringify(bad),
      'dup.json': JSON.stringify(dup),
      'empty.json': '[]',
    })
    expect(usageError(() => parseDoctorArgs(['--regions', 'bad.json'], read))).toMatch(/\[0\]\.ports\.udp/)
    expect(usageError(() => parseDoctorArgs(['--regions', 'dup.json'], read))).toMatch(
      /duplicate region id 'sh'/,
    )
    expect(usageError(() => parseDoctorArgs(['--regions', 'empty.json'], read))).toMatch(/empty/)
  })

  it('--help needs nothing else', () => {
    expect(parseDoctorArgs(['--help'], fs)).toEqual({ help: true, json: false, regions: [] })
  })
})

describe('pinhole join arguments', () => {
  const base = ['--proxy', '10.99.2.2', '--fingerprint', FP, '--channel', 'room-1', '--uid', '42']

  it('reads mode, channel, uid, token and duration', () => {
    const args = parseJoinArgs([...base, '--proxy-mode', 'udp', '--token', 'jwt', '--duration', '2.5'], fs)
    expect(args).toMatchObject({
      help: false,
      region: FLAG_REGION_ID,
      mode: TransportType.UDPProxy,
      channel: 'room-1',
      uid: 42,
      auth: { token: 'jwt' },
      appKey: undefined,
      durationSeconds: 2.5,
      signalUrl: undefined,
      logLevel: 'silent',
    })
    expect(args.regions).toHaveLength(1)
  })

  it('mints a token from the app key and secret; the mode defaults to auto', () => {
    const args = parseJoinArgs([...base, '--app-key', 'app', '--app-secret', 's3cret'], fs)
    expect(args.mode).toBe(TransportType.Auto)
    expect(args.appKey).toBe('app')
    expect(args.auth).toEqual({ appKey: 'app', appSecret: 's3cret', ttlSeconds: MINTED_TOKEN_TTL_SECONDS })
    expect(args.durationSeconds).toBeUndefined()
  })

  it('reads the reconnect budget, within bounds', () => {
    expect(
      parseJoinArgs([...base, '--token', 't', '--reconnect-budget-ms', '3000'], fs).reconnectBudgetMs,
    ).toBe(3000)
    expect(parseJoinArgs([...base, '--token', 't'], fs).reconnectBudgetMs).toBeUndefined()
    for (const bad of ['999', '3600001', '1.5', 'soon']) {
      expect(
        usageError(() => parseJoinArgs([...base, '--token', 't', '--reconnect-budget-ms', bad], fs)),
      ).toMatch(/--reconnect-budget-ms must be 1000 to 3600000/)
    }
  })

  it('takes the test files to send, each optional', () => {
    const args = parseJoinArgs(
      [...base, '--token', 't', '--send-video', 'v.ivf', '--send-audio', 'a.ogg'],
      fs,
    )
    expect(args).toMatchObject({ sendVideo: 'v.ivf', sendAudio: 'a.ogg' })
    expect(parseJoinArgs([...base, '--token', 't'], fs)).toMatchObject({
      sendVideo: undefined,
      sendAudio: undefined,
    })
    expect(usageError(() => parseJoinArgs([...base, '--token', 't', '--send-video', ''], fs))).toMatch(
      /--send-video needs a file name/,
    )
  })

  it('picks a region from a file by id, or auto (the default)', () => {
    const common = ['--regions', 'regions.json', '--channel', 'c', '--uid', '1', '--token', 't']
    expect(parseJoinArgs(common, fs).region).toBe('auto')
    expect(parseJoinArgs([...common, '--region', 'bj'], fs).region).toBe('bj')
    expect(parseJoinArgs([...common, '--region', 'auto'], fs).region).toBe('auto')
    expect(usageError(() => parseJoinArgs([...common, '--region', 'gz'], fs))).toMatch(/not one of sh, bj/)
  })

  it('accepts uid 0: refusing it under a proxy (414, nothing sent) is the engine’s job', () => {
    const args = parseJoinArgs(['--proxy', 'h', '--channel', 'c', '--uid', '0', '--token', 't'], fs)
    expect(args.uid).toBe(0)
  })

  it('takes proxy modes by name or NERTC number', () => {
    expect(['none', 'udp', 'tcp', 'auto', 'UDP', '0', '1', '2', '3'].map(parseProxyMode)).toEqual([
      0, 1, 2, 3, 1, 0, 1, 2, 3,
    ])
    for (const bad of ['4', 'tls', '', '-1', '1.0']) expect(() => parseProxyMode(bad)).toThrow(UsageError)
  })

  it('refuses incomplete or contradictory joins', () => {
    const cases: [string[], RegExp][] = [
      [['--proxy', 'h', '--uid', '1', '--token', 't'], /--channel is required/],
      [['--proxy', 'h', '--channel', 'c', '--token', 't'], /--uid is required/],
      [[...base], /give --token, or --app-key and --app-secret/],
      [[...base, '--app-key', 'k'], /give --token, or --app-key and --app-secret/],
      [[...base, '--token', 't', '--app-secret', 's'], /--token or --app-secret, not both/],
      [['--proxy', 'h', '--channel', 'c', '--uid=-1', '--token', 't'], /--uid must be an integer/],
      [['--proxy', 'h', '--channel', 'c', '--uid', '1e3', '--token', 't'], /--uid must be an integer/],
      [[...base, '--token', 't', '--proxy-mode', 'tls'], /--proxy-mode must be none, udp, tcp, auto or 0-3/],
      [[...base, '--token', 't', '--duration', '0'], /--duration must be seconds/],
      [[...base, '--token', 't', '--duration', 'soon'], /--duration must be seconds/],
      [[...base, '--token', 't', '--signal-url', 'http://x/'], /--signal-url must be a ws/],
      [[...base, '--token', 't', '--log-level', 'loud'], /--log-level must be one of/],
      [[...base, '--token', 't', 'extra'], /Unexpected argument 'extra'/],
    ]
    for (const [argv, message] of cases)
      expect(
        usageError(() => parseJoinArgs(argv, fs)),
        argv.join(' '),
      ).toMatch(message)
  })

  it('keeps a signaling URL for mode none', () => {
    const args = parseJoinArgs(
      [...base, '--token', 't', '--proxy-mode', 'none', '--signal-url', 'ws://10.0.0.1:8080/v1/signal'],
      fs,
    )
    expect(args).toMatchObject({ mode: TransportType.None, signalUrl: 'ws://10.0.0.1:8080/v1/signal' })
  })

  it('--http-proxy: a corporate CONNECT proxy with basic auth, for join and doctor; a bad URL is a usage error', () => {
    const url = 'http://desk:p%40ss@10.99.1.1:3128'
    const expected = { host: '10.99.1.1', port: 3128, username: 'desk', password: 'p@ss' }
    expect(parseJoinArgs([...base, '--token', 't', '--http-proxy', url], fs).httpProxy).toEqual(expected)
    expect(parseDoctorArgs(['--proxy', '10.99.2.2', '--http-proxy', url], fs).httpProxy).toEqual(expected)
    expect(parseJoinArgs([...base, '--token', 't'], fs).httpProxy).toBeUndefined()
    expect(() => parseJoinArgs([...base, '--token', 't', '--http-proxy', 'socks5://x:1'], fs)).toThrow(
      /--http-proxy: socks5: proxies are not supported/,
    )
  })
})

describe('parseUdpPorts', () => {
  it('takes exactly two ports', () => {
    expect(parseUdpPorts('3478, 7070')).toEqual([3478, 7070])
    expect(() => parseUdpPorts('3478,7070,9000')).toThrow(UsageError)
  })
})
