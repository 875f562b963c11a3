import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../src/cli/doctor'
import { ExitCode } from '../../src/cli/io'
import type { ProxyConnectedInfo } from '../../src/shared/engine'
import { ErrorCode } from '../../src/shared/errors'
import { requireTool } from '../support/tools'
import { REPO, delta, labSupport, type Lab } from './lab'
import { useLabCallStack } from './labCallStack'
import { labJoinFlags, receivedHashes, startJoin, stateOf, type JoinResult } from './labJoin'
import { LAN_DROP_COUNTERS, NFT_TABLE } from './topology'

/**
 * A corporate network where even 443 goes out only through a web proxy (issue 6): Debian's tinyproxy runs
 * on the router (`fw`, 10.99.1.1:3128, basic auth, CONNECT to 443 only); `lan` may reach nothing but that
 * proxy (every packet it forwards is dropped and counted), and the proxy may reach only dmz:443.
 * `pinhole doctor --http-proxy` shows UDP blocked and TLS 443 / the session API reachable through the
 * proxy; two `pinhole join --proxy-mode tcp --http-proxy` clients reach Connected and exchange
 * content-checked frames; wrong credentials fail with HttpProxyAuthRefused.
 */

// Not root → skip, saying why (as lab.test.ts).
const support = labSupport()
if (!support.ok) console.log(support.reason)

const PROXY_PORT = 3128
const USER = 'desk'
const PASSWORD = 's3cret'
const CALL_SECONDS = 3

/** nft commands: lan forwards nothing; lan may talk to the router's port 3128; the router only to dmz:443. */
function corporateRules(lab: Lab): string {
  const t = `inet ${NFT_TABLE}`
  return [
    `add counter ${t} corp_lan_forward_drop`,
    `add counter ${t} corp_lan_to_proxy`,
    `add counter ${t} corp_proxy_to_dmz_443`,
    `add counter ${t} corp_proxy_other_drop`,
    `insert rule ${t} forward iifname "fw-lan" counter name "corp_lan_forward_drop" drop`,
    `insert rule ${t} input iifname "fw-lan" ip daddr ${lab.addresses.fwLan} tcp dport ${PROXY_PORT} counter name "corp_lan_to_proxy" accept`,
    `add chain ${t} output { type filter hook output priority 0 ; policy accept ; }`,
    `add rule ${t} output oifname "fw-dmz" ip daddr ${lab.addresses.dmz} tcp dport 443 counter name "corp_proxy_to_dmz_443" accept`,
    `add rule ${t} output oifname "fw-dmz" counter name "corp_proxy_other_drop" drop`,
  ].join('\n')
}

function tinyproxyConfig(lab: Lab): string {
  return [
    `Port ${PROXY_PORT}`,
    `Listen ${lab.addresses.fwLan}`,
    'Timeout 60',
    'MaxClients 64',
    'LogLevel Info',
    `Allow ${lab.addresses.subnets.lan}`,
    'ConnectPort 443',
    `BasicAuth ${USER} ${PASSWORD}`,
    '',
  ].join('\n')
}

/** `node bin/pinhole.js ARGS` in lan, to completion. */
function pinhole(lab: Lab, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = lab.spawn('lan', process.execPath, [join(REPO, 'bin/pinhole.js'), ...args])
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })))
}

const figures: Record<string, string | number>[] = []

describe.skipIf(!support.ok)('TCP mode through a corporate HTTP CONNECT proxy (tinyproxy) in the lab', () => {
  const stack = useLabCallStack(CALL_SECONDS)
  let dir = ''
  const proxyUrl = (password = PASSWORD): string =>
    `http://${USER}:${password}@${stack.lab.addresses.fwLan}:${PROXY_PORT}`

  beforeAll(async () => {
    const tinyproxy = requireTool('tinyproxy')
    const lab = stack.lab
    await lab.exec('fw', 'nft', ['-f', '-'], corporateRules(lab))
    dir = mkdtempSync(join(tmpdir(), 'pinhole-lab-tinyproxy-'))
    const conf = join(dir, 'tinyproxy.conf')
    writeFileSync(conf, tinyproxyConfig(lab))
    lab.spawn('fw', tinyproxy, ['-d', '-c', conf])
    const deadline = Date.now() + 10_000
    while (!(await lab.exec('fw', 'ss', ['-ltn'])).includes(`${lab.addresses.fwLan}:${PROXY_PORT}`)) {
      if (Date.now() > deadline) throw new Error('tinyproxy did not start listening in fw')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }, 60_000)
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    if (figures.length > 0) console.table(figures)
  })

  it('doctor: UDP 3478/7070 blocked, TLS 443 and the session API reachable via the corporate proxy', async () => {
    const l = stack.lab
    const run = await pinhole(l, ['doctor', ...stack.region, '--http-proxy', proxyUrl(), '--json'])
    expect(run.code, run.stderr).toBe(ExitCode.Blocked)
    const report = JSON.parse(run.stdout) as DoctorReport
    const rows = report.regions[0]!.rows
    const status = Object.fromEntries(rows.map((row) => [row.endpoint, row.status]))
    expect(status).toEqual({ udp: 'blocked', udpAlt: 'blocked', tls: 'reachable', session: 'reachable' })
    const via = `via HTTP proxy ${l.addresses.fwLan}:${PROXY_PORT}`
    expect(rows.find((row) => row.endpoint === 'tls')!.check).toBe(`TLS 443 ${via}`)
    expect(rows.find((row) => row.endpoint === 'session')!.check).toBe(`Session API ${via}`)
    expect(run.stdout).not.toContain(PASSWORD)
    for (const row of rows)
      figures.push({ run: 'doctor', check: row.check, status: row.status, rttMs: row.rttMs ?? '-' })
  }, 30_000)

  it('two TCP-mode clients through tinyproxy: Connected, content-checked frames, nothing else leaves lan', async () => {
    const l = stack.lab
    const before = await l.counters()
    const extra = [...stack.media.flags, '--duration', String(CALL_SECONDS), '--http-proxy', proxyUrl()]
    const a = startJoin(l, [...stack.region, ...labJoinFlags('tcp', 11, 'lab-corp'), ...extra])
    const b = startJoin(l, [...stack.region, ...labJoinFlags('tcp', 22, 'lab-corp'), ...extra])
    const results: [JoinResult, JoinResult] = await Promise.all([a.done, b.done])
    const d = delta(before, await l.counters())
    for (const [r, other] of [
      [results[0], 22],
      [results[1], 11],
    ] as const) {
      const why = `${r.stderr}\n${r.lines.map((line) => JSON.stringify(line)).join('\n')}`
      expect(r.code, why).toBe(ExitCode.Ok)
      const connecting = r.lines.find((line) => stateOf(line) === 'Connecting')
      const connected = r.lines.find((line) => stateOf(line) === 'Connected')
      expect(connected, why).toBeDefined()
      const info = r.lines.find((line) => line.event === 'proxyConnected')?.args[0] as ProxyConnectedInfo
      expect(info.transport).toBe('tls')
      const video = receivedHashes(r.lines, 'video', other)
      const audio = receivedHashes(r.lines, 'audio', other)
      expect(video.length, why).toBeGreaterThan(0)
      expect(audio.length, why).toBeGreaterThan(0)
      expect(video.filter((h) => !stack.media.videoHashes.has(h))).toEqual([])
      expect(audio.filter((h) => !stack.media.audioHashes.has(h))).toEqual([])
      figures.push({
        run: `tcp via tinyproxy (uid ${other === 22 ? 11 : 22})`,
        joinToConnectedMs: connected && connecting ? Math.round(connected.t - connecting.t) : '-',
        videoFrames: video.length,
        audioFrames: audio.length,
      })
    }
    // lan reached nothing but the corporate proxy; the proxy reached dmz:443 and nothing else.
    expect(d['corp_lan_forward_drop']).toBe(0)
    expect(d['corp_lan_to_proxy']).toBeGreaterThan(0)
    expect(d['corp_proxy_to_dmz_443']).toBeGreaterThan(0)
    expect(d['corp_proxy_other_drop']).toBe(0)
    expect(d['lan_tcp_443'] ?? 0).toBe(0)
    for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
    figures.push({
      run: 'router',
      lanToProxy: d['corp_lan_to_proxy']!,
      proxyToDmz443: d['corp_proxy_to_dmz_443']!,
      lanForwardDrops: d['corp_lan_forward_drop']!,
    })
  }, 60_000)

  it('wrong credentials (tinyproxy answers 401): the join fails with HttpProxyAuthRefused (30132)', async () => {
    const l = stack.lab
    const join = startJoin(l, [
      ...stack.region,
      ...labJoinFlags('tcp', 33, 'lab-corp-bad'),
      '--http-proxy',
      proxyUrl('nope'),
    ])
    const r = await join.done
    expect(r.code).toBe(ExitCode.Failed)
    const errors = r.lines
      .filter((line) => line.event === 'error')
      .map((line) => (line.args[0] as { code: number }).code)
    expect(errors).toContain(ErrorCode.HttpProxyAuthRefused)
    expect(r.lines.some((line) => stateOf(line) === 'Failed')).toBe(true)
    expect(JSON.stringify(r.lines)).not.toContain('nope@')
  }, 30_000)
})
