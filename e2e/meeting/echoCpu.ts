import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sleep } from '../support/tools'

/**
 * A CPU cgroup that runs the echo path's participant (its Chromium and the PulseAudio daemon) ahead of
 * everything else on the machine. Why: Chromium's echo canceller (AEC3) loses the echo path for 0.25–2 s
 * each time its audio service runs late against PulseAudio (a playback-stream underrun, a late reference:
 * the echo's delay really moves), and on a 2-core machine shared with other test files and builds at load
 * 5–30 that happened several times a run; in the group, PulseAudio's stream underruns came down from 220–244
 * to 14–32 per batch of runs, at streams' starts and ends (docs/media.md "What holds the path"). It gives the
 * participant the machine a call in the foreground of a user's laptop has — it changes nothing in the app or
 * in the measurement.
 *
 * cgroup v1 (`cpu.shares`, and `cpu.rt_runtime_us` so that Chromium's and PulseAudio's real-time threads may
 * join it) or v2 (`cpu.weight`); needs root. Where neither can be made, `available` is false with the
 * reason and processes run as they are.
 */
export interface CpuGroup {
  available: boolean
  /** Why there is no group, when there is none. */
  reason?: string
  /** An executable that joins the group and then execs `command` with its arguments. */
  wrap(command: string): string
  /** Moves a running process (all its threads) into the group. */
  enter(pid: number): void
  /** Removes the group once its processes have exited (moves any left to the parent first). */
  remove(): Promise<void>
}

const V1 = '/sys/fs/cgroup/cpu'
const V2 = '/sys/fs/cgroup'
/** cgroup v1's largest `cpu.shares` (the default is 1024) and v2's largest `cpu.weight` (default 100). */
const V1_SHARES = 262_144
const V2_WEIGHT = 10_000
/** Real-time budget per second for the group's SCHED_RR threads (the root group has 950 ms). */
const RT_RUNTIME_US = 300_000

export function openCpuGroup(name: string, scriptDir: string): CpuGroup {
  const made = makeGroup(`${name}-${process.pid}`)
  if (typeof made === 'string')
    return { available: false, reason: made, wrap: (c) => c, enter: () => {}, remove: async () => {} }
  const { dir, parent } = made
  const procs = join(dir, 'cgroup.procs')
  return {
    available: true,
    wrap(command) {
      const script = join(scriptDir, `in-cpu-group-${command.split('/').pop()}`)
      writeFileSync(script, `#!/bin/sh\necho $$ > '${procs}'\nexec '${command}' "$@"\n`)
      chmodSync(script, 0o755)
      return script
    },
    enter(pid) {
      writeFileSync(procs, `${pid}\n`)
    },
    async remove() {
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          rmdirSync(dir)
          return
        } catch {
          // Processes still exiting; after 2 s move what is left out (rmdir needs an empty group).
          if (attempt === 20)
            for (const pid of readFileSync(procs, 'utf8').split('\n').filter(Boolean))
              try {
                writeFileSync(join(parent, 'cgroup.procs'), `${pid}\n`)
              } catch {
                // It exited meanwhile.
              }
          await sleep(100)
        }
      }
      console.warn(`echo: could not remove the CPU group ${dir}`)
    },
  }
}

function makeGroup(name: string): { dir: string; parent: string } | string {
  const errors: string[] = []
  if (existsSync(join(V1, 'cpu.shares'))) {
    const dir = join(V1, name)
    try {
      mkdirSync(dir)
      writeFileSync(join(dir, 'cpu.shares'), `${V1_SHARES}\n`)
      // Without a real-time budget the kernel refuses to move a SCHED_RR thread in (RT group scheduling).
      if (existsSync(join(dir, 'cpu.rt_runtime_us')))
        writeFileSync(join(dir, 'cpu.rt_runtime_us'), `${RT_RUNTIME_US}\n`)
      return { dir, parent: V1 }
    } catch (error) {
      errors.push(`cgroup v1: ${String(error)}`)
      try {
        rmdirSync(dir)
      } catch {
        // Not made.
      }
    }
  }
  if (existsSync(join(V2, 'cgroup.controllers'))) {
    const dir = join(V2, name)
    try {
      // Only where the machine already delegates the cpu controller: enabling it is a machine-wide change.
      if (!/\bcpu\b/.test(readFileSync(join(V2, 'cgroup.subtree_control'), 'utf8')))
        throw new Error('the cpu controller is not enabled for child groups')
      mkdirSync(dir)
      writeFileSync(join(dir, 'cpu.weight'), `${V2_WEIGHT}\n`)
      return { dir, parent: V2 }
    } catch (error) {
      errors.push(`cgroup v2: ${String(error)}`)
      try {
        rmdirSync(dir)
      } catch {
        // Not made.
      }
    }
  }
  return errors.join('; ') || 'no cgroup cpu controller'
}
