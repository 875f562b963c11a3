import { execFile, spawn } from 'node:child_process'
import { join as joinPath } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import type { LocalStackInfo } from '../../src/app'
import { join, type Participant } from '../browser/participant'
import { exited } from '../support/process'
import { requireTool, sleep } from '../support/tools'

const run = promisify(execFile)

/**
 * Extra participants without a browser: `pinhole join` (src/cli), each publishing a small VP8 test pattern
 * through the browser host's embedded stack (its proxy, UDP), so a call of nine costs three Chromiums and six
 * light engines instead of nine Chromiums. The six run in one process of their own (publishersProcess.ts
 * says why), their event lines collected here for a failure message.
 */
export interface Publishers {
  /** Leave (SIGINT to each command) and wait for every command to end; the exit codes. */
  stop(): Promise<number[]>
  /**
   * What each command printed, for a failure message: its event lines (remote frames only counted) and,
   * once it ended, its exit code.
   */
  report(): string
}

const PROCESS_SCRIPT = joinPath(import.meta.dirname, 'publishersProcess.ts')

/** One command's output: every event line but the per-frame ones, which are only counted. */
interface Output {
  lines: string[]
  frames: number
  exit: number | undefined
}

/** 320x180, 15 fps, 2 s (the CLI loops it), a key frame every 15 frames: cheap for the receivers. */
export async function makePublisherVideo(dir: string): Promise<string> {
  const path = joinPath(dir, 'publisher.ivf')
  await run(requireTool('ffmpeg'), [
    ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15', '-t', '2'],
    ...['-c:v', 'libvpx', '-threads', '1', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k'],
    ...['-g', '15', '-keyint_min', '15', '-auto-alt-ref', '0', '-f', 'ivf', '-y', path],
  ])
  return path
}

export function startPublishers(
  stack: LocalStackInfo,
  channel: string,
  uids: readonly number[],
  video: string,
): Publishers {
  const { region } = stack
  const runs = uids.map((uid) => ({
    uid,
    argv: [
      ...['--channel', channel, '--uid', String(uid), '--proxy-mode', 'udp'],
      ...['--app-key', stack.appKey, '--app-secret', stack.secret],
      ...['--proxy', region.proxyHost, '--udp-ports', region.ports.udp.join(','), '--tcp-port'],
      ...[String(region.ports.tcp), '--fingerprint', region.tlsFingerprintSha256 ?? '', '--name', 'local'],
      ...['--send-video', video],
    ],
  }))
  const outputs = new Map<number, Output>(uids.map((uid) => [uid, { lines: [], frames: 0, exit: undefined }]))
  const child = spawn(process.execPath, ['--import', 'tsx', PROCESS_SCRIPT, JSON.stringify(runs)], {
    cwd: joinPath(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [uid, kind, value] = line.split('\t')
    const output = outputs.get(Number(uid))
    if (!output) return
    if (kind === 'frames') output.frames = Number(value)
    else if (kind === 'exit') output.exit = Number(value)
    else output.lines.push(value === undefined ? kind! : `${kind}: ${value}`)
    if (kind === 'retry') console.warn(`publisher ${uid}: ${value}\n  ${output.lines.join('\n  ')}`)
  })
  const ended = exited(child)
  return {
    stop: async () => {
      child.kill('SIGINT')
      const timedOut = await Promise.race([ended.then(() => false), sleep(10_000).then(() => true)])
      if (timedOut) child.kill('SIGKILL')
      await ended
      return uids.map((uid) => outputs.get(uid)!.exit ?? Number.NaN)
    },
    report: () =>
      [...outputs]
        .map(([uid, { lines, frames, exit }]) =>
          [`pinhole join --uid ${uid}: exit ${exit ?? '(running)'}, ${frames} remote frames`, ...lines].join(
            '\n  ',
          ),
        )
        .join('\n'),
  }
}

/**
 * Joins and waits for Connected. A join whose media does not connect in the engine's time on a machine
 * loaded far past its cores (Failed, 30202) is tried once more, as a person would press Join again: these
 * tests are about what the call looks like, the join itself has its own tests (e2e/browser/call.test.ts).
 */
export async function joinConnected(p: Participant, channel: string, uid: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await join(p, channel, uid)
    const state = p.page.locator(
      '[data-testid="connection-state"][data-state="3"], [data-testid="connection-state"][data-state="5"]',
    )
    await state.waitFor({ timeout: 45_000 })
    if ((await state.getAttribute('data-state')) === '3') return
    if (attempt === 2) throw new Error(`${p.name}: the join failed twice`)
    console.warn(`${p.name}: the join failed (machine load?); joining again`)
  }
}
