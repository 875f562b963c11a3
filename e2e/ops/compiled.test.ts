/**
 * The compiled server (docs/operations.md "Compiled server"): `npm run build:node` bundles the server
 * command, the desktop CLI and the proxy worker into out/node/, and the bins run that without tsx. Each
 * case works in a temporary copy laid out like a release (package.json, lock, bin/, out/node/,
 * native/relay/ with its built addon, no src/), so the working tree's out/ stays as it is and nothing can
 * quietly fall back to the TypeScript source.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { exited, killOnExit, stopChild } from '../support/process'
import { startRedis } from '../support/redisServer'
import { freePortFor, freePorts, waitFor } from '../support/tools'

const run = promisify(execFile)
const root = process.cwd()
const tmp = mkdtempSync(join(tmpdir(), 'pinhole-compiled-'))
const BUILT = join(tmp, 'out-node')
const ADDON = 'native/relay/build/Release/pinhole_relay.node'
const LOCAL_CONFIG = join(root, 'resources/server.local.yaml')
const FROM_SOURCE_NOTICE =
  /^pinhole-server: .*; running src\/server\/cli\.ts through tsx \(`npm run build` compiles it\)\n/

const started: ChildProcess[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((child) => stopChild(child, 15_000)))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

beforeAll(async () => {
  expect(existsSync(join(root, ADDON)), `the native relay is not built: npm run build:native`).toBe(true)
  await run(process.execPath, ['--import', 'tsx', 'scripts/buildNode.ts', '--outdir', BUILT], {
    cwd: root,
    timeout: 60_000,
  })
}, 90_000)

/** A release-shaped copy in tmp/name; node_modules linked to this checkout's unless `ownDeps`. */
function release(name: string, { ownDeps = false } = {}): string {
  const dir = join(tmp, name)
  mkdirSync(dir)
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(root, file), join(dir, file))
  cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true })
  cpSync(BUILT, join(dir, 'out/node'), { recursive: true })
  // Timestamps kept: npm ci's postinstall (native/relay/build.mjs --optional) sees the addon up to date.
  const addons = ['pinhole_relay', 'pinhole_media', 'pinhole_rtp_sink'].map((n) => `build/Release/${n}.node`)
  for (const part of ['binding.gyp', 'build.mjs', 'src', ...addons]) {
    const from = join(root, 'native/relay', part)
    cpSync(from, join(dir, 'native/relay', part), { recursive: true, preserveTimestamps: true })
  }
  if (!ownDeps) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

interface Server {
  child: ChildProcess
  admin: number
  stderr(): string
}

/**
 * `node bin/pinhole-server.js start` with the local config on free ports, two workers, native relay;
 * `overrides` (PINHOLE__… variables) last.
 */
async function start(
  dir: string,
  node = process.execPath,
  base = process.env,
  overrides: Record<string, string> = {},
): Promise<Server> {
  const [udp1, udp2, tcp, sfu] = await freePorts(4, ['udp', 'tcp'])
  const env = {
    ...base,
    PINHOLE__proxy__ports__udp: JSON.stringify([udp1, udp2]),
    PINHOLE__proxy__ports__tcp: String(tcp),
    PINHOLE__sfu__port: String(sfu),
    PINHOLE__proxy__signal__upstream: `ws://127.0.0.1:${sfu}/v1/signal`,
    // The OS picks the admin port (a free port picked here could be taken before the server binds it): the
    // `started` line says which.
    PINHOLE__admin__port: '0',
    // Forked workers (the pool's compiled entry) and the addon found from out/node/, or no start at all.
    PINHOLE__proxy__workers: '2',
    PINHOLE__proxy__fastPath: 'native',
    ...overrides,
  }
  const args = [join(dir, 'bin/pinhole-server.js'), 'start', '--config', LOCAL_CONFIG]
  const child = spawn(node, args, {
    cwd: dir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  killOnExit(child)
  started.push(child)
  let log = ''
  let stderr = ''
  let admin: number | undefined
  let partial = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-4000)
    const lines = (partial + chunk).split('\n')
    partial = lines.pop()!
    for (const line of lines) {
      // Not an sfu.workers worker's line: its admin listener is its own.
      const server = /"msg":"started"/.test(line) && !/"sfuWorker":/.test(line)
      const match = server && /"admin":"[^"]*:(\d+)"/.exec(line)
      if (match) admin = Number(match[1])
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr}${log}`)
      return admin !== undefined && (await healthz(admin))?.status === 200
    },
    '/healthz 200',
    60_000,
  )
  return { child, admin: admin!, stderr: () => stderr }
}

async function healthz(port: number | undefined): Promise<Response | undefined> {
  return fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
}

interface Health {
  details: { proxy: { workers: { pid: number; details: { fastPath: string } }[] } }
}

/** Healthy with both workers on the native relay, each running out/node/proxy-worker.js without tsx. */
async function expectCompiledWorkers(server: Server, dir: string): Promise<void> {
  const health = (await (await healthz(server.admin))!.json()) as Health
  const workers = health.details.proxy.workers
  expect(workers.map((w) => w.details.fastPath)).toEqual(['native', 'native'])
  for (const { pid } of workers) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    expect(argv).toContain(join(dir, 'out/node/proxy-worker.js'))
    expect(argv.join(' ')).not.toContain('tsx')
  }
}

/** SIGTERM drains and exits 0, as from source. */
async function stop(server: Server): Promise<void> {
  server.child.kill('SIGTERM')
  await exited(server.child)
  expect(server.child.exitCode, server.stderr()).toBe(0)
}

describe('the compiled server (out/node/)', () => {
  it('node bin/pinhole-server.js start runs it: /healthz 200, compiled workers, native relay', async () => {
    const dir = release('linked')
    const server = await start(dir)
    await expectCompiledWorkers(server, dir)
    expect(server.stderr()).toBe('')
    await stop(server)
  })

  it('sfu.workers: 2 forks the compiled entry (no tsx): two conference nodes in cluster.redis', async () => {
    const dir = release('sfu-workers')
    const redis = await startRedis()
    try {
      const env = {
        PINHOLE__sfu__port: String(await freePortFor(['tcp'], 2)),
        PINHOLE__sfu__workers: '2',
        PINHOLE__cluster__redis: redis.url,
        PINHOLE__cluster__region: 'compiled',
        // The proxy pool does not place through a cluster (refused by the config check): one proxy process.
        PINHOLE__proxy__workers: '1',
      }
      const server = await start(dir, process.execPath, process.env, env)
      const health = (await (await healthz(server.admin))!.json()) as {
        details: { sfu: { workers: { pid: number; signal: string; state: string }[] } }
      }
      const workers = health.details.sfu.workers
      expect(workers.map((w) => w.state)).toEqual(['up', 'up'])
      for (const { pid } of workers) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        expect(argv).toContain(join(dir, 'out/node/pinhole-server.js'))
        expect(argv.join(' ')).not.toContain('tsx')
      }
      const status = await run(
        process.execPath,
        [join(dir, 'bin/pinhole-server.js'), 'cluster', 'status', '--json', '--config', LOCAL_CONFIG],
        { cwd: dir, env: { ...process.env, ...env } },
      )
      const { nodes } = JSON.parse(status.stdout) as { nodes: { region: string; signalUrl: string }[] }
      const signals = nodes.filter((n) => n.region === 'compiled').map((n) => n.signalUrl)
      expect(signals.sort()).toEqual(workers.map((w) => w.signal).sort())
      expect(server.stderr()).toBe('')
      await stop(server)
    } finally {
      await redis.stop()
    }
  })

  it('starts with only the production dependencies (npm ci --omit=dev): no tsx, no typescript', async () => {
    const dir = release('production', { ownDeps: true })
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      timeout: 150_000,
    })
    for (const devOnly of ['tsx', 'typescript', 'esbuild', 'vitest', 'node'])
      expect(existsSync(join(dir, 'node_modules', devOnly)), devOnly).toBe(false)
    expect(existsSync(join(dir, 'node_modules/werift'))).toBe(true)

    const server = await start(dir)
    await expectCompiledWorkers(server, dir)
    expect(server.stderr()).toBe('')
    await stop(server)

    // The desktop CLI too, through its lazily loaded join chunk (werift).
    const join_ = await run(process.execPath, [join(dir, 'bin/pinhole.js'), 'join', '--help'], { cwd: dir })
    expect(join_.stdout).toMatch(/^Usage: pinhole join /)
    expect(join_.stderr).toBe('')
  }, 240_000)
})

/**
 * A source checkout: the release plus its own copy of src/ (other work in this tree cannot touch it), the
 * build script and the tsconfigs tsx needs; out/node/ not yet built.
 */
function checkout(name: string): string {
  const dir = release(name)
  rmSync(join(dir, 'out'), { recursive: true })
  for (const part of ['src', 'scripts/buildNode.ts', 'tsconfig.base.json', 'tsconfig.node.json'])
    cpSync(join(root, part), join(dir, part), { recursive: true })
  return dir
}

async function checkConfig(dir: string): Promise<{ stdout: string; stderr: string }> {
  const config = join(root, 'resources/server.example.yaml')
  return run(process.execPath, [join(dir, 'bin/pinhole-server.js'), 'check-config', '--config', config], {
    cwd: dir,
  })
}

describe('a source checkout', () => {
  it('without a build runs the source through tsx, saying so in one line', async () => {
    const { stdout, stderr } = await checkConfig(checkout('no-build'))
    expect(stdout).toMatch(/^OK /)
    expect(stderr).toMatch(FROM_SOURCE_NOTICE)
    expect(stderr).toMatch(/^pinhole-server: no build in out\/node; /)
    expect(stderr.split('\n')).toHaveLength(2)
  })

  it('runs its build while current; once a source file is newer, the source again', async () => {
    const dir = checkout('stale')
    await run(process.execPath, ['--import', 'tsx', 'scripts/buildNode.ts'], { cwd: dir, timeout: 60_000 })
    const current = await checkConfig(dir)
    expect(current.stdout).toMatch(/^OK /)
    expect(current.stderr).toBe('')

    const inAnHour = new Date(Date.now() + 3_600_000)
    utimesSync(join(dir, 'src/server/cli.ts'), inAnHour, inAnHour)
    const stale = await checkConfig(dir)
    expect(stale.stdout).toMatch(/^OK /)
    expect(stale.stderr).toMatch(FROM_SOURCE_NOTICE)
    expect(stale.stderr).toMatch(/^pinhole-server: out\/node is older than src\/server\/cli\.ts; /)
  })
})

/** A folder on this machine with a node older than 22.12 (bin/launch.js's minimum) and its npx, e.g. Debian's. */
const olderNodeDir = ['/usr/bin', '/usr/local/bin'].find((dir) => {
  if (!existsSync(join(dir, 'node')) || !existsSync(join(dir, 'npx'))) return false
  const version = execFileSync(join(dir, 'node'), ['-p', 'process.versions.node'], { encoding: 'utf8' })
  const [major = 0, minor = 0] = version.trim().split('.').map(Number)
  return major < 22 || (major === 22 && minor < 12)
})
const olderNode = join(olderNodeDir ?? '/nonexistent', 'node')

/** This process's environment with the older Node first on PATH and no npm_* of the npm running vitest. */
function olderNodeEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)))
  return { ...env, PATH: `${olderNodeDir}:/usr/bin:/bin` }
}

interface Failed {
  code: number
  stdout: string
  stderr: string
}

// Needs a second, older Node installed: without one there is nothing to run the bins under.
describe.skipIf(olderNodeDir === undefined)(
  `under an older Node (${olderNodeDir ?? 'none installed'})`,
  () => {
    it('a production install says what it needs in one line and exits 1, through npx too', async () => {
      const dir = release('old-node', { ownDeps: true })
      const env = olderNodeEnv()
      await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: dir,
        env,
        timeout: 150_000,
      })
      const line = /^pinhole-server: needs Node\.js 22\.12 or newer; this is v\d+\.\d+\.\d+ \(.+\)\n$/
      const direct = await run(olderNode, [join(dir, 'bin/pinhole-server.js'), '--help'], {
        cwd: dir,
        env,
      }).catch((err: Failed) => err)
      expect(direct).toMatchObject({ code: 1, stdout: '' })
      expect(direct.stderr).toMatch(line)
      // npx adds nothing of its own (package.json has no engines field for npm to warn about).
      const npx = await run('npx', ['pinhole-server', '--help'], { cwd: dir, env }).catch(
        (err: Failed) => err,
      )
      expect(npx).toMatchObject({ code: 1, stdout: '' })
      expect(npx.stderr).toMatch(line)
    }, 240_000)

    it('runs on the node@22 devDependency in a checkout, with a notice; SIGTERM reaches it', async () => {
      const dir = release('old-node-bundled')
      const { stdout, stderr } = await run(olderNode, [join(dir, 'bin/pinhole-server.js'), '--help'], {
        cwd: dir,
        env: olderNodeEnv(),
      })
      expect(stdout).toMatch(/^Usage: pinhole-server /)
      const notice = /^pinhole-server: Node\.js v\S+ is older than 22\.12; running on node_modules\/node\n$/
      expect(stderr).toMatch(notice)

      // The older node stays as the parent: it passes the signal on and exits with the server's code.
      const server = await start(dir, olderNode, olderNodeEnv())
      await expectCompiledWorkers(server, dir)
      expect(server.stderr()).toMatch(notice)
      await stop(server)
    })
  },
)
