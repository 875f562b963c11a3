/**
 * Issue 10 item 8: no region a policy file, the configuration or a command line can hold crashes the
 * engine host. Bad regions go in where a person puts them — an IT policy file read by the app core, a
 * PINHOLE_REGIONS value, `pinhole doctor` / `pinhole join` flags and regions files (the CLI as a real
 * process) — and each ends with a sentence and a code, never an uncaught error. The shipped example policy
 * (a documentation address and a name that does not resolve) runs in a fresh network namespace, so that
 * nothing leaves this machine.
 */
import { execFile, execFileSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/cli/io'
import { createAppCore, type AppCore } from '../../src/app/core/appCore'
import { regionsFromEnv } from '../../src/app/settings/envRegions'
import { loadPolicy } from '../../src/app/settings/policy'
import { ErrorCode } from '../../src/shared/errors'
import type { IpcReply } from '../../src/shared/ipc'
import type { NetworkCheckReport } from '../../src/shared/networkCheck'

const REPO = resolve(import.meta.dirname, '../..')
const FAST = { udpTimeoutMs: 400, udpRetransmitMs: 50, tlsTimeoutMs: 400, sessionTimeoutMs: 400 }
const root = mkdtempSync(join(tmpdir(), 'pinhole-bad-regions-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Every uncaught exception and unhandled rejection while a test runs: each one is a defect. */
const uncaught: unknown[] = []
const onUncaught = (error: unknown): void => void uncaught.push(error)
beforeAll(() => {
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  return () => {
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUncaught)
  }
})
afterEach(() => {
  expect(uncaught.splice(0)).toEqual([])
})

function value<T>(reply: IpcReply<T>): T {
  if (!reply.ok) throw new Error(`${reply.error.code} ${reply.error.message} ${reply.error.detail ?? ''}`)
  return reply.value
}

/** A port nothing listens on, on ::1, for both UDP and TCP (free a moment ago). */
async function closedIpv6Port(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '::1', done))
  const port = (server.address() as { port: number }).port
  await new Promise((done) => server.close(done))
  const udp = createSocket('udp6')
  await new Promise<void>((done) => udp.bind(port, '::1', done))
  await new Promise<void>((done) => udp.close(done))
  return port
}

/** Hosts without an IPv6 loopback (some containers) skip the `::1` cases, saying why. */
const ipv6 = await closedIpv6Port().then(
  () => true,
  (error: unknown) => {
    console.log(`skipped: the ::1 cases need an IPv6 loopback (${String(error)})`)
    return false
  },
)

const region = (over: Record<string, unknown>): Record<string, unknown> => ({
  id: 'r',
  name: 'R',
  proxyHost: 'proxy.example.com',
  ports: { udp: [3478, 7070], tcp: 443 },
  ...over,
})

/** An IT policy file with these regions, loaded as the app loads it. */
function policyWith(regions: unknown[]): ReturnType<typeof loadPolicy> {
  const path = join(root, `policy-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(path, JSON.stringify({ version: 1, regions, defaultRegion: 'auto' }))
  return loadPolicy({ path })
}

const BAD: [string, Record<string, unknown>, RegExp][] = [
  ['an IPv6 literal in brackets', region({ proxyHost: '[::1]' }), /without brackets: ::1/],
  ['an empty host', region({ proxyHost: '' }), /proxyHost/],
  ['a host with a port', region({ proxyHost: 'proxy.example.com:443' }), /not a host name or IP/],
  ['a URL', region({ proxyHost: 'https://proxy.example.com/' }), /not a host name or IP/],
  [
    'a huge UDP port list',
    region({ ports: { udp: Array.from({ length: 10_000 }, (_, i) => i + 1), tcp: 443 } }),
    /udp/,
  ],
  ['port 0', region({ ports: { udp: [0, 7070], tcp: 443 } }), /udp/],
  ['port 65536', region({ ports: { udp: [3478, 7070], tcp: 65_536 } }), /tcp/],
  ['a fractional port', region({ ports: { udp: [3478.5, 7070], tcp: 443 } }), /udp/],
  ['a port as text', region({ ports: { udp: [3478, 7070], tcp: '443' } }), /tcp/],
]

describe('the app core fed bad regions', () => {
  let core: AppCore | undefined
  afterEach(async () => {
    await core?.close()
    core = undefined
  })

  async function start(policy: ReturnType<typeof loadPolicy>): Promise<AppCore> {
    core = await createAppCore({
      dataDir: mkdtempSync(join(root, 'data-')),
      policy,
      networkCheck: { probe: FAST },
      engine: { probe: FAST, joinTimeoutMs: 5000 },
    })
    return core
  }

  it('a name that does not resolve: every row unresolved, the join says DNS (30105)', async () => {
    const c = await start(policyWith([region({ id: 'gone', proxyHost: 'nonexistent.invalid' })]))
    const report = value(await c.invoke('runNetworkCheck', [])) as NetworkCheckReport
    expect(report.regions[0]!.rows.map((row) => row.status)).toEqual(Array(4).fill('unresolved'))
    expect(report.summary).toContain('nonexistent.invalid does not resolve (DNS)')
    expect(report.summary).not.toContain('Firewall rules to add')
    expect(value(await c.invoke('joinChannel', ['token', 'board', 7]))).toBe(ErrorCode.ProxyHostUnresolved)
  })

  it.skipIf(!ipv6)(
    'a bare IPv6 literal where nothing listens: every row refused, the join says not running (30104)',
    async () => {
      const port = await closedIpv6Port()
      const c = await start(
        policyWith([region({ id: 'v6', proxyHost: '::1', ports: { udp: [port, port], tcp: port } })]),
      )
      const report = value(await c.invoke('runNetworkCheck', [])) as NetworkCheckReport
      expect(report.regions[0]!.rows.map((row) => [row.status, row.rule])).toEqual(
        Array.from({ length: 4 }, () => ['refused', undefined]),
      )
      expect(value(await c.invoke('joinChannel', ['token', 'board', 7]))).toBe(ErrorCode.ProxyNotRunning)
    },
  )

  it.each(BAD)(
    '%s: the policy is refused naming the field; the core still checks and joins',
    async (_name, bad, why) => {
      const policy = policyWith([bad])
      expect(policy.status).toBe('invalid')
      expect(policy.status === 'invalid' && policy.reason).toMatch(why)
      const c = await start(policy)
      const report = value(await c.invoke('runNetworkCheck', [])) as NetworkCheckReport
      expect(report.summary).toMatch(/No region is configured/)
      const join = await c.invoke('joinChannel', ['token', 'board', 7])
      expect(join.ok ? join.value : join.error.code).not.toBe(ErrorCode.Internal)
    },
  )

  it.each(BAD)('%s in PINHOLE_REGIONS: refused with the reason before any socket', (_name, bad, why) => {
    expect(() => regionsFromEnv({ PINHOLE_REGIONS: JSON.stringify([bad]) })).toThrow(why)
  })
})

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** `node bin/pinhole.js …` as its own process. */
function pinhole(args: string[]): Promise<CliRun> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [join(REPO, 'bin/pinhole.js'), ...args],
      { cwd: REPO, timeout: 30_000 },
      (_error, stdout, stderr) => done({ code: child.exitCode, stdout, stderr }),
    )
  })
}

/** No stack trace, no "internal error": the CLI answered with its own words. */
function expectNoCrash(run: CliRun): void {
  expect(run.stderr).not.toMatch(/internal error|\n\s+at |RangeError|ERR_SOCKET/)
  expect(run.stdout).not.toMatch(/\n\s+at /)
}

describe('the pinhole CLI (a real process) fed bad regions', () => {
  it('doctor, a name that does not resolve: unresolved rows, no firewall rule, exit 3', async () => {
    const run = await pinhole(['doctor', '--proxy', 'nonexistent.invalid'])
    expectNoCrash(run)
    expect(run.code, run.stderr).toBe(ExitCode.Blocked)
    expect(run.stdout).toMatch(/^UDP 3478 +nonexistent\.invalid:3478 +unresolved /m)
    expect(run.stdout).toContain('nonexistent.invalid does not resolve (DNS)')
    expect(run.stdout).not.toContain('Firewall rules to add')
  })

  it.skipIf(!ipv6)(
    'doctor --json, a bare IPv6 literal where nothing listens: refused rows, exit 3',
    async () => {
      const port = await closedIpv6Port()
      const flags = ['--proxy', '::1', '--udp-ports', `${port},${port}`, '--tcp-port', String(port), '--json']
      const run = await pinhole(['doctor', ...flags])
      expectNoCrash(run)
      expect(run.code, run.stderr).toBe(ExitCode.Blocked)
      const report = JSON.parse(run.stdout) as { ok: boolean; regions: { rows: { status: string }[] }[] }
      expect(report.ok).toBe(false)
      expect(report.regions[0]!.rows.map((row) => row.status)).toEqual(Array(4).fill('refused'))
    },
  )

  it.each([
    ['[::1]', ['--proxy', '[::1]'], /without brackets: ::1/],
    ['an empty host', ['--proxy', ''], /proxyHost|--regions FILE or --proxy HOST/],
    [
      'a huge --udp-ports list',
      ['--proxy', 'h.example', '--udp-ports', Array.from({ length: 5000 }, (_, i) => i + 1).join(',')],
      /--udp-ports takes two ports/,
    ],
    ['port 0', ['--proxy', 'h.example', '--tcp-port', '0'], /--tcp-port must be an integer from 1 to 65535/],
    [
      'port 65536',
      ['--proxy', 'h.example', '--udp-ports', '3478,65536'],
      /--udp-ports must be an integer from 1 to 65535/,
    ],
  ])('doctor and join with %s: a usage error naming it, exit 2', async (_name, flags, why) => {
    for (const command of ['doctor', 'join']) {
      const extra = command === 'join' ? ['--channel', 'c', '--uid', '1', '--token', 't'] : []
      const run = await pinhole([command, ...flags, ...extra])
      expectNoCrash(run)
      expect(run.code, `${command}: ${run.stderr}`).toBe(ExitCode.Usage)
      expect(run.stderr).toMatch(why)
    }
  })

  it('a regions file with a huge port list or a bracketed IPv6 host: a usage error naming the field', async () => {
    const file = join(root, 'regions.json')
    for (const [bad, why] of BAD.slice(0, 5).map(([, r, w]) => [r, w] as const)) {
      writeFileSync(file, JSON.stringify([bad]))
      const run = await pinhole(['doctor', '--regions', file])
      expectNoCrash(run)
      expect(run.code, run.stderr).toBe(ExitCode.Usage)
      expect(run.stderr).toMatch(why)
    }
  })

  it('join, a name that does not resolve: the error event says DNS (30105), exit 1', async () => {
    const run = await pinhole([
      'join',
      '--proxy',
      'nonexistent.invalid',
      '--channel',
      'c',
      '--uid',
      '1',
      '--token',
      't',
    ])
    expectNoCrash(run)
    expect(run.code, run.stderr).toBe(ExitCode.Failed)
    const errors = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event: string; args: { code: number }[] })
      .filter((line) => line.event === 'error')
    expect(errors.map((line) => line.args[0]!.code)).toContain(ErrorCode.ProxyHostUnresolved)
  })
})

/** `unshare -rn`: a network namespace of our own (as an unprivileged user too, where user namespaces are on). */
function unshareSupport(): { ok: true } | { ok: false; reason: string } {
  try {
    execFileSync('unshare', ['-rn', 'true'], { stdio: 'ignore' })
    return { ok: true }
  } catch (error) {
    return {
      ok: false,
      reason: `skipped: 'unshare -rn' fails here (${String(error)}); needs util-linux and user namespaces`,
    }
  }
}
const unshare = unshareSupport()
if (!unshare.ok) console.log(unshare.reason)

describe.skipIf(!unshare.ok)('the shipped example policy, in a network namespace of its own', () => {
  it('the app core runs a network check and a join attempt without an uncaught error', async () => {
    const script = join(REPO, 'e2e/app/examplePolicyCore.ts')
    const { stdout } = await new Promise<{ stdout: string; stderr: string }>((done, fail) =>
      execFile(
        'unshare',
        ['-rn', process.execPath, '--import', 'tsx', script],
        { cwd: REPO, timeout: 60_000 },
        (error, out, err) =>
          error ? fail(new Error(`${String(error)}\n${err}`)) : done({ stdout: out, stderr: err }),
      ),
    )
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      policy: string
      reachable: [string, boolean][]
      statuses: Record<string, string[]>
      summary: string
      joinCode: number
      uncaught: string[]
    }
    expect(result.uncaught).toEqual([])
    expect(result.policy).toBe('valid')
    expect(result.reachable).toEqual([
      ['shanghai', false],
      ['frankfurt', false],
    ])
    // Frankfurt's name does not resolve (the namespace has no DNS); Shanghai has no route from here.
    expect(result.statuses['frankfurt']).toEqual(Array(4).fill('unresolved'))
    expect(result.statuses['shanghai']).toEqual(Array(4).fill('blocked'))
    expect(result.summary).toContain('proxy-fra.example.com does not resolve (DNS)')
    expect(result.joinCode).toBe(ErrorCode.NoRegionReachable)
  })
})
