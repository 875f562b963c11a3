import { execFile, execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { killOnExit, stopChild } from '../support/process'
import { INSTALL_LINE } from '../support/tools'
import { buildLinkNamespace, startLinkEmulator, type LinkEmulator } from './linkEmulator'
import {
  LAB_ADDRESSES,
  LAB_LINKS,
  LAB_NAMESPACES,
  LAB_ROUTES,
  LAN_DROP_COUNTERS,
  NFT_TABLE,
  blockCommands,
  blockCounter,
  labRuleset,
  type LabBlock,
  labSysctls,
  type LabAddresses,
  type LabNs,
  type VethLink,
} from './topology'

const run = promisify(execFile)
export const REPO = resolve(import.meta.dirname, '../..')
const PREFIX = 'pinhole-lab-'

export interface NftCounter {
  packets: number
  bytes: number
}

export interface LabSpawnOptions {
  stdio?: StdioOptions
  env?: NodeJS.ProcessEnv
}

export interface Lab {
  /** The real namespace names (unique per run: they carry the pid). */
  names: Readonly<Record<LabNs, string>>
  addresses: LabAddresses
  /** Runs `cmd` inside `ns` to completion; rejects with its stderr on a non-zero exit. */
  exec(ns: LabNs, cmd: string, args?: readonly string[], input?: string): Promise<string>
  /** Starts `cmd` inside `ns` as its own process group, killed when the lab is destroyed or this process exits. */
  spawn(ns: LabNs, cmd: string, args?: readonly string[], options?: LabSpawnOptions): ChildProcess
  /** Runs a TypeScript script inside `ns` with this Node (`node --import tsx`), stdio piped. */
  spawnNode(ns: LabNs, script: string, args?: readonly string[]): ChildProcess
  /** Every named counter of the router's table, by name. */
  counters(): Promise<Record<string, NftCounter>>
  /** Packets from `lan` the router dropped (forwarded or addressed to itself), all protocols, blocks included. */
  droppedFromLan(): Promise<number>
  /**
   * Closes one whitelisted port on the router at runtime (a drop rule ahead of the whitelist, counted in
   * `blockCounter(block)`); the returned function removes the rule again.
   */
  block(block: LabBlock): Promise<() => Promise<void>>
  /** Stops everything spawned in the lab and deletes its namespaces (and so its veths). Idempotent. */
  destroy(): Promise<void>
}

export interface LabOptions {
  /**
   * Routes the access link between `lan` and the router through a `link` namespace whose delay line applies
   * `lab.link.set(profile)` (delay, jitter, loss, rate cap) per direction. No impairment until then.
   */
  emulateLink?: boolean
}

/** A lab built with `emulateLink: true`. */
export interface EmulatedLab extends Lab {
  /** The delay line on the access link between `lan` and the router (linkEmulator.ts). */
  link: LinkEmulator
}

export type LabSupport = { ok: true } | { ok: false; reason: string }

/**
 * Whether this machine can build the lab at all. Not root → the lab tests skip (the only allowed skip);
 * root with a missing tool is a failure, raised by createLab with the install line.
 */
export function labSupport(): LabSupport {
  const uid = process.getuid?.()
  if (uid !== 0) {
    const reason = `firewall lab skipped: it needs root for network namespaces and nftables (uid ${uid ?? 'unknown'})`
    return { ok: false, reason }
  }
  return { ok: true }
}

export class LabToolMissingError extends Error {
  readonly code = 'missing_tool'
  constructor(readonly tool: string) {
    super(`${tool} is not installed (not on PATH nor in /usr/sbin, /sbin). Install it with: ${INSTALL_LINE}`)
    this.name = 'LabToolMissingError'
  }
}

/** `ip` and `nft` live in sbin, which a non-login root shell may lack on PATH. */
function requireSbinTool(name: 'ip' | 'nft'): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'EACCES')))
        throw err
    }
  }
  throw new LabToolMissingError(name)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return !(err instanceof Error && 'code' in err && err.code === 'ESRCH')
  }
}

/**
 * Kills whatever still runs inside the namespace, then deletes it. Deleting only removes the name: a process
 * left inside (a proxy whose parent was SIGKILLed) would keep the namespace, and itself, alive.
 */
function deleteNamespaceSync(ip: string, name: string): void {
  let pids: string
  try {
    pids = execFileSync(ip, ['netns', 'pids', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
  } catch {
    return // No such namespace (never created, or already deleted).
  }
  for (const pid of pids.split('\n').filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'ESRCH')) throw err
    }
  }
  execFileSync(ip, ['netns', 'del', name], { stdio: 'ignore' })
}

/** Namespaces a killed run (SIGKILL skips every hook) left behind: ours by prefix, owner pid gone. */
async function sweepStale(ip: string): Promise<void> {
  const { stdout } = await run(ip, ['netns', 'list'])
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const owner = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)
    if (owner && !isAlive(Number(owner[1]))) deleteNamespaceSync(ip, name)
  }
}

let sequence = 0

/**
 * Builds the lab (topology.ts, docs/lab.md): namespaces, loopback up, sysctls, veth pairs created directly
 * inside their namespaces (never in the host's), addresses, routes, and the router's nftables ruleset.
 * Nothing is connected to the host network namespace. Rejects, after cleaning up, if any step fails.
 * With `emulateLink`, lan's access link runs through the link emulator's namespace (linkEmulator.ts).
 */
export async function createLab(options: LabOptions & { emulateLink: true }): Promise<EmulatedLab>
export async function createLab(options?: LabOptions): Promise<Lab>
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  const ip = requireSbinTool('ip')
  const nft = requireSbinTool('nft')
  await sweepStale(ip)
  const tag = `${PREFIX}${process.pid}-${sequence++}`
  const names = Object.fromEntries(LAB_NAMESPACES.map((ns) => [ns, `${tag}-${ns}`])) as Record<LabNs, string>
  // Named like the others, so a killed run's `link` is swept with them.
  const linkNs = options.emulateLink === true ? `${tag}-link` : undefined
  const children = new Set<ChildProcess>()
  let destroyed = false

  const deleteSync = (): void => {
    for (const name of Object.values(names)) deleteNamespaceSync(ip, name)
    if (linkNs !== undefined) deleteNamespaceSync(ip, linkNs)
  }
  const onExit = (): void => deleteSync()
  process.once('exit', onExit)

  const exec: Lab['exec'] = async (ns, cmd, args = [], input) => {
    const child = spawn(ip, ['netns', 'exec', names[ns], cmd, ...args], { stdio: 'pipe' })
    child.stdin.end(input)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((done, fail) => {
      child.once('error', fail)
      child.once('close', (status) => done(status))
    })
    if (code !== 0) throw new Error(`[${ns}] ${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`)
    return stdout
  }

  const spawnNamed = (
    name: string,
    cmd: string,
    args: readonly string[],
    opts: LabSpawnOptions,
  ): ChildProcess => {
    if (destroyed) throw new Error('lab destroyed')
    const child = spawn(ip, ['netns', 'exec', name, cmd, ...args], {
      cwd: REPO,
      detached: true,
      stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    })
    children.add(child)
    child.once('exit', () => children.delete(child))
    killOnExit(child)
    return child
  }
  const spawnIn: Lab['spawn'] = (ns, cmd, args = [], opts = {}) => spawnNamed(names[ns], cmd, args, opts)

  const counters: Lab['counters'] = async () => {
    const json = await exec('fw', nft, ['-j', 'list', 'counters', 'table', 'inet', NFT_TABLE])
    return parseCounters(json)
  }

  const lab: Lab & { link?: LinkEmulator } = {
    names,
    addresses: LAB_ADDRESSES,
    exec,
    spawn: spawnIn,
    spawnNode: (ns, script, args = []) =>
      spawnIn(ns, process.execPath, ['--import', 'tsx', script, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    counters,
    async droppedFromLan() {
      const all = await counters()
      const blocks = Object.keys(all).filter((name) => name.startsWith('lan_drop_block_'))
      return [...LAN_DROP_COUNTERS, ...blocks].reduce((sum, name) => sum + (all[name]?.packets ?? 0), 0)
    },
    async block(block) {
      // --echo --handle prints the inserted rule with its handle, which is what deleting it takes.
      const echo = await exec('fw', nft, ['--echo', '--handle', '-f', '-'], blockCommands(block))
      const counter = blockCounter(block)
      const line = echo.split('\n').find((l) => l.includes(`counter name "${counter}" drop`))
      const handle = line === undefined ? undefined : /# handle (\d+)/.exec(line)?.[1]
      if (handle === undefined) throw new Error(`nft did not echo the handle of the ${counter} rule: ${echo}`)
      return async () => {
        if (destroyed) return
        await exec('fw', nft, ['delete', 'rule', 'inet', NFT_TABLE, 'forward', 'handle', handle])
      }
    },
    async destroy() {
      if (destroyed) return
      destroyed = true
      await Promise.all([...children].map((child) => stopChild(child, 1000)))
      deleteSync()
      process.off('exit', onExit)
    },
  }

  try {
    for (const ns of LAB_NAMESPACES) await run(ip, ['netns', 'add', names[ns]])
    for (const ns of LAB_NAMESPACES) {
      await run(ip, ['-n', names[ns], 'link', 'set', 'lo', 'up'])
      // Written from inside the namespace: /proc/sys/net belongs to the netns of whoever opens it.
      const writes = labSysctls(ns).map((s) => {
        const [key = '', value = ''] = s.split('=')
        return `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`
      })
      await exec(ns, 'sh', ['-c', writes.join(' && ')])
    }
    for (const link of LAB_LINKS) {
      const { a, b, prefix } = link
      if (linkNs !== undefined && isAccessLink(link)) {
        await buildLinkNamespace(ip, { lan: names.lan, fw: names.fw, link: linkNs }, link)
        continue
      }
      // Created inside `a`'s namespace with its peer moved straight into `b`'s: the host never sees either.
      const peer = ['peer', 'name', b.ifname, 'netns', names[b.ns]]
      await run(ip, ['-n', names[a.ns], 'link', 'add', a.ifname, 'type', 'veth', ...peer])
      for (const end of [a, b]) {
        await run(ip, ['-n', names[end.ns], 'addr', 'add', `${end.address}/${prefix}`, 'dev', end.ifname])
        await run(ip, ['-n', names[end.ns], 'link', 'set', end.ifname, 'up'])
      }
    }
    for (const route of LAB_ROUTES) {
      await run(ip, ['-n', names[route.ns], 'route', 'add', route.to, 'via', route.via])
    }
    await exec('fw', nft, ['-f', '-'], labRuleset())
    if (linkNs !== undefined) {
      const pipes: LabSpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'] }
      lab.link = await startLinkEmulator(linkNs, (cmd, args) => spawnNamed(linkNs, cmd, args, pipes))
    }
  } catch (err) {
    await lab.destroy()
    throw err
  }
  return lab
}

/** The desktops' access link: the veth between `lan` and the router, where the link emulator goes. */
function isAccessLink(link: VethLink): boolean {
  const ends = [link.a.ns, link.b.ns]
  return ends.includes('lan') && ends.includes('fw')
}

/** Packets each counter saw between two `counters()` readings (one that appeared since counts from zero). */
export function delta(
  before: Record<string, NftCounter>,
  after: Record<string, NftCounter>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([name, c]) => [name, c.packets - (before[name]?.packets ?? 0)]),
  )
}

/** `nft -j list counters` → { name: { packets, bytes } }. */
export function parseCounters(json: string): Record<string, NftCounter> {
  const parsed: unknown = JSON.parse(json)
  const entries =
    typeof parsed === 'object' && parsed !== null && 'nftables' in parsed && Array.isArray(parsed.nftables)
      ? (parsed.nftables as unknown[])
      : []
  const out: Record<string, NftCounter> = {}
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || !('counter' in entry)) continue
    const counter = entry.counter as { name?: unknown; packets?: unknown; bytes?: unknown }
    if (typeof counter.name === 'string' && typeof counter.packets === 'number')
      out[counter.name] = { packets: counter.packets, bytes: Number(counter.bytes ?? 0) }
  }
  return out
}
