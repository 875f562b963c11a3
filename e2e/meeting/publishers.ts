import { EventEmitter } from 'node:events'
import { execFile } from 'node:child_process'
import { join as joinPath } from 'node:path'
import { promisify } from 'node:util'
import type { LocalStackInfo } from '../../src/app'
import type { CliIo } from '../../src/cli/io'
import { joinCommand } from '../../src/cli/join'
import { join, type Participant } from '../browser/participant'
import { requireTool } from '../support/tools'

const run = promisify(execFile)

/**
 * Extra participants without a browser: `pinhole join` (src/cli) run in this process, each publishing a
 * small VP8 test pattern through the browser host's embedded stack (its proxy, UDP), so a call of nine
 * costs three Chromiums and six light engines instead of nine Chromiums.
 */
export interface Publishers {
  /** Leave (SIGINT to each command) and wait for every command to end; the exit codes. */
  stop(): Promise<number[]>
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
  const signals = new EventEmitter()
  const io: CliIo = {
    stdout: () => undefined,
    stderr: (text) => void process.stderr.write(`publisher: ${text}`),
    readFile: () => '',
    signals,
    exit: () => undefined,
    now: () => performance.now(),
  }
  const runs = uids.map((uid) =>
    joinCommand(
      [
        ...['--channel', channel, '--uid', String(uid), '--proxy-mode', 'udp'],
        ...['--app-key', stack.appKey, '--app-secret', stack.secret],
        ...['--proxy', region.proxyHost, '--udp-ports', region.ports.udp.join(','), '--tcp-port'],
        ...[String(region.ports.tcp), '--fingerprint', region.tlsFingerprintSha256 ?? '', '--name', 'local'],
        ...['--send-video', video],
      ],
      io,
    ),
  )
  return {
    stop: async () => {
      signals.emit('SIGINT', 'SIGINT')
      return Promise.all(runs)
    },
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
