import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { createServer } from 'node:net'
import { type DoctorRow, type ProbeOptions, runDoctor } from '../../engine'
import { silentTcp, silentUdp } from '../../../e2e/support/proxyFixture'
import type { Region } from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import { firewallRule, type NetworkCheckReport } from '../../shared/networkCheck'
import type { PolicyLoad } from '../settings/policy'
import { createAppCore, type AppCoreOptions } from '../core/appCore'
import { localStackOf, type LocalStackInfo } from '../stack/localStack'

/**
 * The core's "Network check" and "Export diagnostics" channels with a stand-in doctor and engine: every
 * region checked (through the policy's HTTP proxy when it sets one), rules in the shared wording, the last
 * check and the logs in the bundle, and every secret the core knows removed from it.
 */

const root = mkdtempSync(join(tmpdir(), 'pinhole-netcheck-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = (): string => join(root, String(n++))

const region = (id: string, host: string): Region => ({
  id,
  name: id.toUpperCase(),
  proxyHost: host,
  ports: { udp: [3478, 7070], tcp: 443 },
})

/** The doctor's four rows for a region, UDP 7070 blocked on `blockedHost`. */
function fakeDoctor(blockedHost: string) {
  return vi.fn(async (r: Region, _options: ProbeOptions): Promise<DoctorRow[]> => {
    const row = (endpoint: DoctorRow['endpoint'], port: number, label: string): DoctorRow => {
      const blocked = endpoint === 'udpAlt' && r.proxyHost === blockedHost
      return {
        endpoint,
        check: label,
        target: `${r.proxyHost}:${port}`,
        status: blocked ? 'blocked' : 'reachable',
        detail: blocked ? 'no answer' : 'answered',
        ...(blocked
          ? { errorCode: ErrorCode.ProxyUdpAltUnreachable, rule: 'the doctor’s own words' }
          : { rttMs: 1.5 }),
      }
    }
    return [
      row('udp', 3478, 'UDP 3478'),
      row('udpAlt', 7070, 'UDP 7070'),
      row('tls', 443, 'TLS 443'),
      row('session', 443, 'Session API'),
    ]
  })
}

const valid = (policy: object): PolicyLoad =>
  ({ status: 'valid', path: '/etc/pinhole/policy.json', policy }) as PolicyLoad

async function core(options: Partial<AppCoreOptions>) {
  return createAppCore({ dataDir: freshDir(), ...options })
}

describe('runNetworkCheck', () => {
  it('checks every region, one after another, with the rule for the blocked port', async () => {
    const doctor = fakeDoctor('198.51.100.2')
    const c = await core({
      regions: [region('sh', '198.51.100.1'), region('bj', '198.51.100.2')],
      networkCheck: { doctor },
    })
    const reply = await c.invoke('runNetworkCheck', [])
    expect(reply.ok).toBe(true)
    const report = (reply as { value: NetworkCheckReport }).value
    expect(report.ok).toBe(false)
    expect(report.regions.map((r) => [r.id, r.ok])).toEqual([
      ['sh', true],
      ['bj', false],
    ])
    const blocked = report.regions[1]!.rows.find((row) => row.status === 'blocked')
    expect(blocked).toMatchObject({
      check: 'UDP 7070',
      target: '198.51.100.2:7070',
      rule: 'allow UDP from desktops to 198.51.100.2 port 7070',
    })
    expect(report.regions[0]!.rows.every((row) => row.rule === undefined)).toBe(true)
    expect(report.summary).toContain(
      'Firewall rules to add: allow UDP from desktops to 198.51.100.2 port 7070.',
    )
    expect(report.httpProxy).toBeUndefined()
    expect(doctor.mock.calls[0]![1]).not.toHaveProperty('httpProxy')
    await c.close()
  })

  it('goes through the policy’s corporate HTTP proxy (its password never in the report)', async () => {
    const doctor = fakeDoctor('none')
    const httpProxy = { host: '10.0.0.8', port: 3128, username: 'desk', password: 'proxy-pass-123' }
    const c = await core({
      policy: valid({ regions: [region('sh', '198.51.100.1')], httpProxy }),
      networkCheck: { doctor },
    })
    const reply = await c.invoke('runNetworkCheck', [])
    expect(doctor.mock.calls[0]![1]).toMatchObject({ httpProxy })
    expect(reply).toMatchObject({ ok: true, value: { ok: true, httpProxy: '10.0.0.8:3128' } })
    expect(JSON.stringify(reply)).not.toContain('proxy-pass-123')
    await c.close()
  })

  it('under an invalid policy (no regions at all) says there is nothing to check', async () => {
    const doctor = fakeDoctor('x')
    const policy: PolicyLoad = {
      status: 'invalid',
      path: '/etc/pinhole/policy.json',
      reason: 'bad',
      issues: [],
    }
    const c = await core({ regions: [region('sh', '198.51.100.1')], policy, networkCheck: { doctor } })
    expect(await c.invoke('runNetworkCheck', [])).toMatchObject({
      ok: true,
      value: { ok: true, regions: [], summary: expect.stringMatching(/No region is configured/) },
    })
    expect(doctor).not.toHaveBeenCalled()
    await c.close()
  })

  it('refuses arguments like every channel (414)', async () => {
    const c = await core({
      regions: [region('sh', '198.51.100.1')],
      networkCheck: { doctor: fakeDoctor('x') },
    })
    expect(await c.invoke('runNetworkCheck', ['sh'])).toMatchObject({ ok: false, error: { code: 414 } })
    expect(await c.invoke('exportDiagnostics', ['/tmp'])).toMatchObject({ ok: false, error: { code: 414 } })
    await c.close()
  })
})

describe('the rule wording is the doctor’s', () => {
  it('for every endpoint the real doctor finds blocked (silent); none for refused (closed) ones', async () => {
    const fast = { udpTimeoutMs: 300, udpRetransmitMs: 50, tlsTimeoutMs: 300, sessionTimeoutMs: 300 }
    const [udp, tcp] = await Promise.all([silentUdp(), silentTcp()])
    try {
      const silent: Region = {
        ...region('silent', '127.0.0.1'),
        ports: { udp: [udp.port, udp.port], tcp: tcp.port },
      }
      const rows = await runDoctor(silent, fast)
      expect(rows.map((row) => row.status)).toEqual(['blocked', 'blocked', 'blocked', 'blocked'])
      for (const row of rows) {
        expect(row.rule, row.check).toBeDefined()
        expect(firewallRule(row, { proxyHost: '127.0.0.1' }), row.check).toBe(row.rule)
      }
    } finally {
      await Promise.all([udp.close(), tcp.close()])
    }
    // A port that was free a moment ago: UDP answers ICMP "refused", TCP refuses the connection.
    const server = createServer()
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    const port = (server.address() as { port: number }).port
    await new Promise((done) => server.close(done))
    const closed: Region = { ...region('closed', '127.0.0.1'), ports: { udp: [port, port], tcp: port } }
    const refused = await runDoctor(closed, fast)
    expect(refused.map((row) => [row.status, row.rule])).toEqual(
      Array.from({ length: 4 }, () => ['refused', undefined]),
    )
  })
})

describe('runNetworkCheck at once', () => {
  it('two calls while one runs share it', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((done) => (release = done))
    const inner = fakeDoctor('none')
    const doctor = vi.fn(async (r: Region, o: ProbeOptions) => (await gate, inner(r, o)))
    const c = await core({ regions: [region('sh', '198.51.100.1')], networkCheck: { doctor } })
    const first = c.invoke('runNetworkCheck', [])
    const second = c.invoke('runNetworkCheck', [])
    release()
    expect(await first).toEqual(await second)
    expect(doctor).toHaveBeenCalledTimes(1)
    await c.invoke('runNetworkCheck', [])
    expect(doctor).toHaveBeenCalledTimes(2)
    await c.close()
  })
})

describe('exportDiagnostics', () => {
  const stackInfo: LocalStackInfo = {
    version: 1,
    pid: process.pid,
    nonce: 'n',
    appKey: 'pinhole-local',
    secret: 'planted-stack-secret-0123456789',
    region: region('local', '127.0.0.1'),
    sfuSignalUrl: 'ws://127.0.0.1:1/v1/signal',
    startedAt: new Date(0).toISOString(),
  }

  it('writes <dataDir>/diagnostics/…json with logs, settings, policy and the last check; no secret', async () => {
    const dataDir = freshDir()
    const token = 'planted.join-token.value-abc'
    const logFile = join(root, `log-${n}`)
    writeFileSync(
      logFile,
      [
        JSON.stringify({ level: 'info', msg: 'joining', channel: 'room', note: `with ${token}` }),
        JSON.stringify({ level: 'debug', msg: `stack ${stackInfo.secret} and proxy proxy-pass-123` }),
        '',
      ].join('\n'),
    )
    const httpProxy = { host: '10.0.0.8', port: 3128, username: 'desk', password: 'proxy-pass-123' }
    const c = await core({
      dataDir,
      localStack: async () => localStackOf(stackInfo, async () => undefined),
      policy: valid({ httpProxy, allowEmbeddedStack: true }),
      networkCheck: { doctor: fakeDoctor('127.0.0.1') },
      diagnostics: { logFiles: () => [logFile], versions: { app: '1.2.3' } },
    })
    await c.invoke('runNetworkCheck', [])
    // uid 0 under a proxy: refused (414) before anything is sent, but the core has seen the token.
    expect(await c.invoke('joinChannel', [token, 'room', 0])).toMatchObject({ ok: true, value: 414 })
    const minted = await c.invoke('getDevToken', ['room', 6])
    const reply = await c.invoke('exportDiagnostics', [])
    expect(reply.ok).toBe(true)
    const path = (reply as { value: string }).value
    expect(path.startsWith(join(dataDir, 'diagnostics', 'pinhole-diagnostics-'))).toBe(true)
    const text = readFileSync(path, 'utf8')
    const bundle = JSON.parse(text) as Record<string, unknown>
    expect(bundle).toMatchObject({
      versions: { app: '1.2.3' },
      policy: { status: 'valid' },
      settings: { app: { embedded: true }, effective: { allowEmbeddedStack: true } },
      networkChecks: { ok: false, regions: [{ id: 'local', rows: expect.any(Array) }] },
      logs: [{ lines: expect.arrayContaining([expect.stringContaining('joining')]) }],
    })
    for (const secret of [token, stackInfo.secret, 'proxy-pass-123', (minted as { value: string }).value]) {
      expect(text).not.toContain(secret)
    }
    await c.close()
  })

  it('a folder that cannot be written is an Internal error naming it', async () => {
    const blocker = join(root, `file-${n++}`)
    writeFileSync(blocker, 'not a folder')
    const c = await core({
      regions: [region('sh', '198.51.100.1')],
      diagnostics: { dir: join(blocker, 'diagnostics') },
    })
    const reply = await c.invoke('exportDiagnostics', [])
    expect(reply).toMatchObject({ ok: false, error: { code: ErrorCode.Internal } })
    expect(JSON.stringify(reply)).toContain(blocker)
    await c.close()
  })
})
