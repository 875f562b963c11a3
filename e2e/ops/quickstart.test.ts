/**
 * docs/operations.md, followed by a newcomer on this machine: the one documented command starts both
 * servers from the example config, and /healthz and /metrics answer healthy. Only the documented port
 * overrides are added (free ports: other tests and coturn may hold 3478). Then the documented
 * certificate recipe (openssl, pinned fingerprint), the example production config, and the systemd unit.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { exited, killOnExit, stopChild } from '../support/process'
import { freePorts, waitFor } from '../support/tools'

const run = promisify(execFile)
const root = process.cwd()
const doc = readFileSync(join(root, 'docs/operations.md'), 'utf8')
const QUICKSTART = 'npx pinhole-server start --config resources/server.local.yaml'
const UNIT = join(root, 'resources/pinhole-server.service')

/** The first fenced block of docs/operations.md that contains every needle. */
function docBlock(...needles: string[]): string {
  const block = [...doc.matchAll(/```[a-z]*\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((b) => needles.every((needle) => b.includes(needle)))
  if (block === undefined) throw new Error(`docs/operations.md has no code block with ${needles.join(', ')}`)
  return block
}

interface Server {
  child: ChildProcess
  lines: Record<string, unknown>[]
  admin: number
}

const started: ChildProcess[] = []
const tmp = mkdtempSync(join(tmpdir(), 'pinhole-ops-'))
afterEach(async () => {
  await Promise.all(started.splice(0).map((child) => stopChild(child, 15_000)))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Runs the documented command with the documented overrides on free ports (plus `extra` variables). */
async function startQuickstart(extra: Record<string, string> = {}): Promise<Server> {
  const [udp1, udp2, tcp, sfu, admin] = await freePorts(5, ['udp', 'tcp'])
  const overrides: Record<string, string> = {
    PINHOLE__proxy__ports__udp: JSON.stringify([udp1, udp2]),
    PINHOLE__proxy__ports__tcp: String(tcp),
    PINHOLE__sfu__port: String(sfu),
    PINHOLE__proxy__signal__upstream: `ws://127.0.0.1:${sfu}/v1/signal`,
    PINHOLE__admin__port: String(admin),
  }
  // Exactly the variables the "port is taken" paragraph documents, no more.
  const documented = [...docBlock('PINHOLE__', `${QUICKSTART}\n`).matchAll(/PINHOLE__\w+/g)].map((m) => m[0])
  expect(new Set(documented)).toEqual(new Set(Object.keys(overrides)))

  const [command, ...args] = QUICKSTART.split(' ')
  const child = spawn(command!, args, {
    cwd: root,
    env: { ...process.env, ...overrides, ...extra },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  killOnExit(child)
  started.push(child)
  const lines: Record<string, unknown>[] = []
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const part of parts)
      if (part.startsWith('{')) lines.push(JSON.parse(part) as Record<string, unknown>)
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}`)
      return lines.some((l) => l['msg'] === 'started')
    },
    'the started line',
    60_000,
  )
  return { child, lines, admin: admin! }
}

describe('docs/operations.md quickstart', () => {
  it('documents the one command', () => {
    expect(doc).toContain(`\`\`\`\n${QUICKSTART}\n\`\`\``)
    expect(doc).toContain(`$ ${QUICKSTART}`)
  })

  it('starts both servers with it; /healthz is 200 and /metrics has both; SIGTERM drains and exits 0', async () => {
    const server = await startQuickstart()
    const startedLine = server.lines.find((l) => l['msg'] === 'started')
    expect(startedLine).toMatchObject({ components: ['sfu', 'proxy'], region: 'local' })

    const health = await fetch(`http://127.0.0.1:${server.admin}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({
      status: 'ok',
      details: { sfu: { ok: true, listening: true, draining: false }, proxy: { ok: true, draining: false } },
    })

    const metrics = await fetch(`http://127.0.0.1:${server.admin}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await metrics.text()
    for (const series of [
      /^process_cpu_seconds_total\{region="local"\} [\d.e-]+$/m,
      /^nodejs_version_info\{version="v22\./m,
      /^pinhole_sfu_channels\{region="local"\} 0$/m,
      /^pinhole_sfu_participants\{region="local"\} 0$/m,
      /^pinhole_proxy_allocations\{region="local"\} 0$/m,
      /^pinhole_proxy_sessions_issued_total\{region="local"\} 0$/m,
    ]) {
      expect(text).toMatch(series)
    }

    // "signal the node process (the pid of the log lines)", as the Stopping section says.
    const pid = startedLine!['pid'] as number
    process.kill(pid, 'SIGTERM')
    await waitFor(() => server.lines.some((l) => l['msg'] === 'stopped'), 'the stopped line', 60_000)
    await waitFor(() => !isAlive(pid), 'the server process to exit', 10_000)
    // npx exits with the server's own code.
    await exited(server.child)
    expect(server.child.exitCode).toBe(0)
  })

  it('serves a certificate made with the documented openssl recipe, logging the fingerprint openssl prints', async () => {
    const recipe = docBlock('openssl req -x509')
      .replace(/\\\n\s*/g, '')
      .replaceAll('/etc/pinhole/tls', tmp)
      .trim()
      .split('\n')
    expect(recipe).toHaveLength(2)
    await run('sh', ['-c', recipe[0]!])
    const { stdout } = await run('sh', ['-c', recipe[1]!.replace(/#.*$/, '')])
    const fingerprint = stdout.trim().split('=')[1]!

    const server = await startQuickstart({
      PINHOLE__proxy__tls__certFile: join(tmp, 'fullchain.pem'),
      PINHOLE__proxy__tls__keyFile: join(tmp, 'privkey.pem'),
    })
    const startedLine = server.lines.find((l) => l['msg'] === 'started') as {
      proxy: { tlsFingerprint: string }
    }
    expect(startedLine.proxy.tlsFingerprint).toBe(fingerprint)
  })
})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ESRCH') return false
    throw err
  }
}

describe('resources/server.example.yaml', () => {
  it('passes check-config and gives the documented whitelist table', async () => {
    const bin = join(root, 'bin/pinhole-server.js')
    const config = join(root, 'resources/server.example.yaml')
    const check = await run(process.execPath, [bin, 'check-config', '--config', config], { cwd: root })
    expect(check.stdout).toMatch(/^OK .*proxy 203\.0\.113\.10 \(region shanghai\): udp 3478,7070, tcp 443/)
    // Nothing, or in a checkout without a current build (bin/launch.js) the one line about running the source.
    expect(
      check.stderr.replace(/^pinhole-server: .*; running src\/server\/cli\.ts through tsx .*\n/, ''),
    ).toBe('')
    const table = await run(
      process.execPath,
      [bin, 'whitelist', '--config', 'resources/server.example.yaml'],
      {
        cwd: root,
      },
    )
    expect(docBlock('$ npx pinhole-server whitelist')).toContain(table.stdout.trimEnd())
  })
})

describe('resources/pinhole-server.service', () => {
  const unit = readFileSync(UNIT, 'utf8')
  const directives = new Map<string, string[]>()
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!])
  }
  const one = (key: string): string | undefined => directives.get(key)?.at(-1)

  it('passes systemd-analyze verify, or at least parses, when systemd is absent', async () => {
    let analyze: string | undefined
    for (const candidate of ['/usr/bin/systemd-analyze', '/bin/systemd-analyze']) {
      try {
        accessSync(candidate, constants.X_OK)
        analyze = candidate
        break
      } catch {
        // not there: the next candidate, or the parse-only check below
      }
    }
    if (analyze !== undefined) {
      // Unknown keys are only warnings (exit code 0): the output must be empty too.
      const { stdout, stderr } = await run(analyze, ['verify', UNIT])
      expect(stdout + stderr).toBe('')
    } else {
      console.warn('systemd-analyze not found: checking that the unit parses only')
    }
    expect(unit).toMatch(/^\[Unit\]$/m)
    expect(unit).toMatch(/^\[Service\]$/m)
    expect(unit).toMatch(/^\[Install\]$/m)
  })

  it('runs the real bin with the documented config, as a dedicated user, hardened', async () => {
    const exec = one('ExecStart')!.split(' ')
    expect(exec[0]).toBe('/usr/bin/node')
    expect(exec.slice(1)).toEqual([
      '/opt/pinhole-server/bin/pinhole-server.js',
      'start',
      '--config',
      '/etc/pinhole/server.yaml',
    ])
    // The release layout is this repository's: the script exists here, and its check-config (the unit's
    // ExecStartPre) accepts the example config.
    const pre = one('ExecStartPre')!.replaceAll('/opt/pinhole-server/', `${root}/`).split(' ')
    expect(pre.slice(1, 3)).toEqual([`${root}/bin/pinhole-server.js`, 'check-config'])
    pre[pre.length - 1] = join(root, 'resources/server.example.yaml')
    await expect(run(process.execPath, pre.slice(1), { cwd: root })).resolves.toMatchObject({
      stdout: expect.stringMatching(/^OK /),
    })

    expect(Object.fromEntries([...directives].map(([k, v]) => [k, v.at(-1)]))).toMatchObject({
      User: 'pinhole',
      Group: 'pinhole',
      AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
      CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
      NoNewPrivileges: 'true',
      ProtectSystem: 'strict',
      ProtectHome: 'true',
      PrivateTmp: 'true',
      PrivateDevices: 'true',
      KillSignal: 'SIGTERM',
      KillMode: 'mixed',
      RestartPreventExitStatus: '2',
      WantedBy: 'multi-user.target',
    })
    // Room for the drains: sfu.drainTimeoutMs (30 s) and the proxy's 10 s for allocations.
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThanOrEqual(45)
    expect(directives.has('MemoryDenyWriteExecute')).toBe(false)
  })
})
