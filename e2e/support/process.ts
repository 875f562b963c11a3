import type { ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { sleep } from './tools'

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** Signals the child's process group (children are spawned `detached`, so they lead their own group). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch (err) {
    // ESRCH: the group went away between the check and the kill.
    if (!(err instanceof Error && 'code' in err && err.code === 'ESRCH')) throw err
  }
}

/** SIGTERM to the group, SIGKILL after graceMs; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  killGroup(child, 'SIGTERM')
  const timedOut = await Promise.race([exited(child).then(() => false), sleep(graceMs).then(() => true)])
  if (timedOut) {
    killGroup(child, 'SIGKILL')
    await exited(child)
  }
}

// sysconf(_SC_CLK_TCK) is 100 on every Linux ABI Node supports.
const CLOCK_TICKS_PER_SECOND = 100

function parseCpuMicros(stat: string, pid: number): number {
  // The command name (field 2) may contain spaces and parentheses: split after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unparsable /proc/${pid}/stat`)
  return ((utime + stime) * 1_000_000) / CLOCK_TICKS_PER_SECOND
}

/**
 * utime + stime in µs of a process (all threads) and of its live descendants, from /proc/<pid>/stat fields
 * 14 and 15 (clock ticks): a server that forks workers (our proxy with `workers > 1`) is measured whole.
 */
export async function processCpuMicros(pid: number): Promise<number> {
  await readFile(`/proc/${pid}/stat`, 'utf8') // the process itself must exist
  return processCpuMicrosSync(pid)
}

/** Synchronous processCpuMicros, for sampling inside a progress callback at the moment a line arrives. */
export function processCpuMicrosSync(pid: number): number {
  let total = parseCpuMicros(readFileSync(`/proc/${pid}/stat`, 'utf8'), pid)
  for (const child of descendants(pid)) {
    try {
      total += parseCpuMicros(readFileSync(`/proc/${child}/stat`, 'utf8'), child)
    } catch {
      // exited between the listing and the read: its time is gone with it
    }
  }
  return total
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // The command name (field 2) may hold spaces: the parent pid is the 2nd field after its ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    const list = children.get(ppid) ?? []
    list.push(Number(entry))
    children.set(ppid, list)
  }
  const out: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child)
      queue.push(child)
    }
  }
  return out
}

/** Whole-machine CPU counters from the first line of /proc/stat, in clock ticks summed over all cores. */
export interface MachineCpu {
  busyTicks: number
  totalTicks: number
}

export function machineCpuSync(): MachineCpu {
  const first = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
  // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
  const ticks = first.trim().split(/\s+/).slice(1, 9).map(Number)
  if (ticks.length < 8 || ticks.some((n) => !Number.isFinite(n))) throw new Error('unparsable /proc/stat')
  const total = ticks.reduce((sum, n) => sum + n, 0)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0)
  return { busyTicks: total - idle, totalTicks: total }
}

const orphans = new Map<ChildProcess, (() => void) | undefined>()
let exitHookInstalled = false

/**
 * Kills the child's process group if this Node process exits first (a crashed test or bench would otherwise
 * leave detached turnservers behind), then runs `cleanupSync` (e.g. removing its temporary directory). Only
 * 'exit' runs for every way out, and it must be synchronous.
 */
export function killOnExit(child: ChildProcess, cleanupSync?: () => void): void {
  orphans.set(child, cleanupSync)
  child.once('exit', () => orphans.delete(child))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const [orphan, cleanupSync] of orphans) {
      killGroup(orphan, 'SIGKILL')
      cleanupSync?.()
    }
  })
}
