import { EventEmitter } from 'node:events'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { LocalStackInfo } from '../../src/app'
import type { CliIo } from '../../src/cli/io'
import { joinCommand } from '../../src/cli/join'
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
  const path = join(dir, 'publisher.ivf')
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
