import type { ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../src/cli/doctor'
import type { EventLine } from '../../src/cli/eventLines'
import { ExitCode } from '../../src/cli/io'
import type { ProxyConnectedInfo } from '../../src/shared/engine'
import { ErrorCode } from '../../src/shared/errors'
import { exited, killGroup, stopChild } from '../support/process'
import { REPO, createLab, delta, labSupport, type Lab } from './lab'
import { startLabProxy, type LabProxy } from './labProxy'
import { LAN_DROP_COUNTERS, WHITELIST, blockCounter, type LabBlock } from './topology'

/**
 * `pinhole doctor` and `pinhole join` run INSIDE `lan` (their sockets use lan's stack, through the router's
 * nftables) against our proxy in `dmz`: the doctor reports exactly the port the lab blocks, with the rule
 * IT must add, and a UDP-proxy join still reaches the proxy over the other UDP port. A stopped proxy is
 * "refused" and a name that does not resolve "unresolved", neither with a firewall rule (issue 10 item 9).
 */

// Not root → skip, saying why (as lab.test.ts).
const support = labSupport()
if (!support.ok) console.log(support.reason)

/** The app labProxy.ts configures (apps[0]); the join mints its token from it. */
const LAB_APP = { appKey: 'lab', secret: 'lab-app-secret-0123456789' }
/** After proxyConnected, how long the join may go on by itself before it is sent SIGINT. */
const AFTER_PROXY_MS = 3000

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** `node bin/pinhole.js …` inside `ns`; `onLine` sees each stdout line as it arrives. */
async function pinhole(
  lab: Lab,
  args: string[],
  onLine?: (line: string, child: ChildProcess) => void,
): Promise<CliRun> {
  const t0 = performance.now()
  const child = lab.spawn('lan', process.execPath, [join(REPO, 'bin/pinhole.js'), ...args])
  let stdout = ''
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout += `${line}\n`
      onLine?.(line, child)
    })
  }
  const timer = setTimeout(() => void stopChild(child, 1000), 30_000)
  await exited(child)
  clearTimeout(timer)
  // The readline interface may still hold the last line: let it drain.
  await new Promise((done) => setImmediate(done))
  return { code: child.exitCode, stdout, stderr, ms: Math.round(performance.now() - t0) }
}

const figures: Record<string, string | number>[] = []

describe.skipIf(!support.ok)('pinhole doctor and join inside the firewall lab', () => {
  let lab: Lab | undefined
  let proxy: LabProxy | undefined
  let regionFlags: string[] = []
  const theLab = (): Lab => {
    if (!lab) throw new Error('lab not created')
    return lab
  }

  beforeAll(async () => {
    lab = await createLab()
    proxy = await startLabProxy(lab)
    // The proxy's certificate, pinned by fingerprint as IT would configure the region.
    const pem = proxy.turn('tls-443', 'doctor').turnTlsCa
    if (pem === undefined) throw new Error('labProxy gave no certificate for tls-443')
    const fingerprint = new X509Certificate(pem).fingerprint256
    const ports = WHITELIST.filter((w) => w.proto === 'udp').map((w) => w.port)
    const tcp = WHITELIST.find((w) => w.proto === 'tcp')!.port
    regionFlags = ['--proxy', lab.addresses.dmz, '--region', 'lab', '--name', 'Lab DMZ']
    regionFlags.push('--udp-ports', ports.join(','), '--tcp-port', String(tcp), '--fingerprint', fingerprint)
  })
  afterAll(async () => {
    await proxy?.stop()
    await lab?.destroy()
    if (figures.length > 0) console.table(figures)
  })

  it('with the standard whitelist, all four checks are reachable and the exit code is 0', async () => {
    const l = theLab()
    const before = await l.counters()
    const run = await pinhole(l, ['doctor', ...regionFlags])
    const d = delta(before, await l.counters())
    expect(run.code, run.stdout + run.stderr).toBe(ExitCode.Ok)
    for (const check of ['UDP 3478', 'UDP 7070', 'TLS 443', 'Session API'])
      expect(run.stdout).toMatch(new RegExp(`^${check} +10\\.99\\.2\\.2:\\d+ +reachable +\\d+\\.\\d ms`, 'm'))
    expect(run.stdout).toContain('Every whitelisted endpoint answers.')
    for (const w of WHITELIST) expect(d[w.counter], w.counter).toBeGreaterThan(0)
    for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
    figures.push({ run: 'doctor, whitelist open', exit: run.code ?? '-', ms: run.ms, lanDrops: 0 })
  })

  it('with UDP 3478 also blocked on fw, the table shows it blocked with the rule to add; exit 3', async () => {
    const l = theLab()
    const block: LabBlock = { proto: 'udp', port: 3478 }
    const unblock = await l.block(block)
    try {
      const before = await l.counters()
      const run = await pinhole(l, ['doctor', ...regionFlags])
      const d = delta(before, await l.counters())
      expect(run.code, run.stdout + run.stderr).toBe(ExitCode.Blocked)
      expect(run.stdout).toMatch(/^UDP 3478 +10\.99\.2\.2:3478 +blocked +- +no answer to \d+ STUN Binding/m)
      for (const check of ['UDP 7070', 'TLS 443', 'Session API'])
        expect(run.stdout).toMatch(new RegExp(`^${check} +10\\.99\\.2\\.2:\\d+ +reachable`, 'm'))
      expect(run.stdout).toContain(
        'Firewall rules to add:\n  allow UDP from desktops to 10.99.2.2 port 3478\n',
      )
      // Every probe of 3478 died at the block; nothing else was dropped.
      expect(d[blockCounter(block)]).toBeGreaterThan(0)
      for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
      figures.push({
        run: 'doctor, UDP 3478 blocked',
        exit: run.code ?? '-',
        ms: run.ms,
        lanDrops: d[blockCounter(block)]!,
      })
    } finally {
      await unblock()
    }
  })

  it.each<[string, LabBlock, string[]]>([
    ['UDP 7070', { proto: 'udp', port: 7070 }, ['UDP 7070']],
    ['TCP 443', { proto: 'tcp', port: 443 }, ['TLS 443', 'Session API']],
  ])('reports exactly the port the lab blocks (%s), as JSON', async (_name, block, blocked) => {
    const l = theLab()
    const unblock = await l.block(block)
    try {
      const run = await pinhole(l, ['doctor', ...regionFlags, '--json'])
      expect(run.code, run.stderr).toBe(ExitCode.Blocked)
      const report = JSON.parse(run.stdout) as DoctorReport
      const rows = report.regions[0]!.rows
      const rule = `allow ${block.proto.toUpperCase()} from desktops to 10.99.2.2 port ${block.port}`
      expect(rows.map((row) => [row.check, row.status, row.rule])).toEqual(
        ['UDP 3478', 'UDP 7070', 'TLS 443', 'Session API'].map((check) =>
          blocked.includes(check) ? [check, 'blocked', rule] : [check, 'reachable', undefined],
        ),
      )
      figures.push({
        run: `doctor --json, ${block.proto.toUpperCase()} ${block.port} blocked`,
        exit: ExitCode.Blocked,
        ms: run.ms,
        lanDrops: '-',
      })
    } finally {
      await unblock()
    }
  })

  it('pinhole join with uid 0 and a proxy: 414 printed, exit 1, not one packet from lan', async () => {
    const l = theLab()
    const before = await l.counters()
    const args = ['join', ...regionFlags, '--proxy-mode', 'auto', '--channel', 'lab-room', '--uid', '0']
    const run = await pinhole(l, [...args, '--app-key', LAB_APP.appKey, '--app-secret', LAB_APP.secret])
    const d = delta(before, await l.counters())
    expect(run.code).toBe(ExitCode.Failed)
    expect(
      run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as EventLine),
    ).toMatchObject([{ event: 'error', args: [{ code: 414 }] }])
    // Every counter of the router, whitelist and drops alike: nothing left lan.
    expect(Object.entries(d).filter(([, packets]) => packets !== 0)).toEqual([])
    figures.push({ run: 'join uid 0 (auto)', exit: run.code ?? '-', ms: run.ms, lanDrops: 0 })
  })

  it('pinhole join --proxy-mode udp, UDP 3478 blocked: reaches proxyConnected over UDP 7070, leaks nothing', async () => {
    const l = theLab()
    const block: LabBlock = { proto: 'udp', port: 3478 }
    const unblock = await l.block(block)
    try {
      const before = await l.counters()
      let interrupt: NodeJS.Timeout | undefined
      let interrupted = false
      const args = ['join', ...regionFlags, '--proxy-mode', 'udp', '--channel', 'lab-room', '--uid', '1001']
      args.push('--app-key', LAB_APP.appKey, '--app-secret', LAB_APP.secret)
      const run = await pinhole(l, args, (line, child) => {
        // What the engine does after the proxy (the call) is printed; stop it if it is still going.
        if (line.includes('"event":"proxyConnected"'))
          interrupt = setTimeout(() => {
            interrupted = true
            killGroup(child, 'SIGINT')
          }, AFTER_PROXY_MS)
      })
      clearTimeout(interrupt)
      const d = delta(before, await l.counters())
      const lines = run.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as EventLine)
      const connected = lines.find((line) => line.event === 'proxyConnected')
      expect(connected, run.stdout + run.stderr).toBeDefined()
      const info = connected!.args[0] as ProxyConnectedInfo
      expect(info).toMatchObject({
        type: 1,
        regionId: 'lab',
        transport: 'udp',
        proxyAddress: '10.99.2.2:7070',
      })
      expect(info.attempts.find((a) => a.target === '10.99.2.2:7070')?.outcome).toBe('won')
      // Session over TLS 443, media over UDP 7070; 3478 is dropped at the block, and nothing else anywhere.
      expect(d['lan_tcp_443']).toBeGreaterThan(0)
      expect(d['lan_udp_7070']).toBeGreaterThan(0)
      expect(d['lan_udp_3478']).toBe(0)
      expect(d[blockCounter(block)]).toBeGreaterThan(0)
      for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
      const after = lines.slice(lines.indexOf(connected!) + 1).map((line) => {
        const code = line.event === 'error' ? (line.args[0] as { code: number }).code : undefined
        return code === undefined ? line.event : `error ${code}`
      })
      const last = lines.at(-1)?.t ?? 0
      figures.push({
        run:
          `join udp: proxyConnected at ${info.elapsedMs.toFixed(0)} ms, then ${after.join(' ')} ` +
          `(last line at t=${last.toFixed(0)} ms${interrupted ? ', SIGINT' : ''})`,
        exit: run.code ?? '-',
        ms: run.ms,
        lanDrops: d[blockCounter(block)]!,
      })
    } finally {
      await unblock()
    }
  })

  it('with the proxy stopped: every row refused, no firewall rule, exit 3; the join says 30104', async () => {
    const l = theLab()
    await proxy!.kill()
    try {
      const before = await l.counters()
      const run = await pinhole(l, ['doctor', ...regionFlags, '--json'])
      const d = delta(before, await l.counters())
      expect(run.code, run.stdout + run.stderr).toBe(ExitCode.Blocked)
      const rows = (JSON.parse(run.stdout) as DoctorReport).regions[0]!.rows
      expect(rows.map((row) => [row.check, row.status, row.errorCode, row.rule])).toEqual(
        ['UDP 3478', 'UDP 7070', 'TLS 443', 'Session API'].map((check) => [
          check,
          'refused',
          ErrorCode.ProxyNotRunning,
          undefined,
        ]),
      )
      // The probes went out on the whitelist and the host's refusals (ICMP port unreachable, RST) came
      // back through the firewall: nothing was dropped, so no rule could help.
      for (const w of WHITELIST) expect(d[w.counter], w.counter).toBeGreaterThan(0)
      for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)

      const text = await pinhole(l, ['doctor', ...regionFlags])
      expect(text.code).toBe(ExitCode.Blocked)
      expect(text.stdout).not.toContain('Firewall rules to add')
      expect(text.stdout.replace(/\s+/g, ' ')).toContain(
        '10.99.2.2 refused UDP 3478, UDP 7070, TLS 443, Session API: nothing listens there, so the ' +
          'Pinhole proxy is not running on that address (or not on those ports). No firewall rule fixes ' +
          'this: contact whoever runs the proxy.',
      )

      const args = ['join', ...regionFlags, '--proxy-mode', 'auto', '--channel', 'lab-room', '--uid', '1002']
      const join = await pinhole(l, [...args, '--app-key', LAB_APP.appKey, '--app-secret', LAB_APP.secret])
      expect(join.code, join.stdout + join.stderr).toBe(ExitCode.Failed)
      const codes = join.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as EventLine)
        .flatMap((line) => (line.event === 'error' ? [(line.args[0] as { code: number }).code] : []))
      expect(codes).toEqual([ErrorCode.ProxyNotRunning])
      figures.push({
        run: 'doctor, proxy stopped: 4 × refused',
        exit: run.code ?? '-',
        ms: run.ms,
        lanDrops: 0,
      })
    } finally {
      await proxy!.restart()
    }
  })

  it('a proxy name that does not resolve: every row unresolved, no firewall rule, nothing leaves lan', async () => {
    const l = theLab()
    // `ip netns exec` puts /etc/netns/<ns>/resolv.conf in place of /etc/resolv.conf: lan's resolver is a
    // DNS server in lan itself that knows no name (as a company resolver answers a name that does not exist).
    const etc = `/etc/netns/${l.names.lan}`
    mkdirSync(etc, { recursive: true })
    writeFileSync(join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\n')
    const dns = l.spawnNode('lan', join(REPO, 'e2e/lab/agents/nxdomain.mts'))
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: dns.stdout! }).once('line', () => resolve())
        dns.once('exit', (code) => reject(new Error(`the DNS agent exited with ${code}`)))
      })
      const before = await l.counters()
      const run = await pinhole(l, ['doctor', '--proxy', 'nonexistent.invalid', '--json'])
      const d = delta(before, await l.counters())
      expect(run.code, run.stdout + run.stderr).toBe(ExitCode.Blocked)
      const rows = (JSON.parse(run.stdout) as DoctorReport).regions[0]!.rows
      expect(rows.map((row) => [row.status, row.errorCode, row.rule])).toEqual(
        Array.from({ length: 4 }, () => ['unresolved', ErrorCode.ProxyHostUnresolved, undefined]),
      )
      for (const row of rows) expect(row.detail).toBe('nonexistent.invalid does not resolve (ENOTFOUND)')
      // Not one packet reached the router: the name failed before any probe was sent.
      expect(Object.entries(d).filter(([, packets]) => packets !== 0)).toEqual([])
      figures.push({
        run: 'doctor, name unresolved: 4 × unresolved',
        exit: run.code ?? '-',
        ms: run.ms,
        lanDrops: 0,
      })
    } finally {
      dns.stdin?.end()
      await stopChild(dns, 1000)
      rmSync(etc, { recursive: true, force: true })
    }
  })
})
