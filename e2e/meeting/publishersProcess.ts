import { joinCommand } from '../../src/cli/join'
import { ExitCode, type CliIo } from '../../src/cli/io'

/**
 * `pinhole join` publishers in a process of their own (publishers.ts starts it): `[argv per uid]` as one JSON
 * argument, their joins spread out. Every event line but the per-frame ones goes to stdout prefixed with
 * the uid and a tab (the frames as a running count); a command that ends prints `<uid>\texit\t<code>`.
 * SIGINT makes each command leave (as `pinhole join` does) and the process ends when all have.
 *
 * Why a process: six engines receiving eight streams each, in the test process, shared one event loop with
 * the conference server, the proxy and the three pages' engines; on a loaded machine that loop stalled long
 * enough for a publisher's media to be declared lost while it was still connecting (30202), the command
 * ended, and its tile never appeared.
 */

const runs = JSON.parse(process.argv[2] ?? '[]') as { uid: number; argv: string[] }[]

const FRAME_LINE = /^\{"event":"remote(Video|Audio)Frame"/

function ioFor(uid: number, onConnected: () => void): CliIo & { connected(): boolean } {
  let frames = 0
  let connected = false
  return {
    connected: () => connected,
    stdout: (text) => {
      if (!connected && text.includes('"names":["Connected"')) {
        connected = true
        onConnected()
      }
      if (FRAME_LINE.test(text)) {
        // A running count, not a line per frame: one pipe write per second of frames is plenty.
        if (++frames % 100 === 0) process.stdout.write(`${uid}\tframes\t${frames}\n`)
      } else process.stdout.write(`${uid}\t${text.trimEnd()}\n`)
    },
    stderr: (text) => void process.stderr.write(`publisher ${uid}: ${text}`),
    readFile: () => '',
    signals: process,
    exit: (code) => process.exit(code),
    now: () => performance.now(),
  }
}

let leaving = false
process.once('SIGINT', () => (leaving = true))

/**
 * A join that fails before Connected (the media not connected in the engine's time on a machine loaded far
 * past its cores) is tried once more, as a person would press Join again — what e2e/meeting's joinConnected
 * does for the pages; the lines of both attempts are printed.
 */
async function publish(uid: number, argv: string[], onConnected: () => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const io = ioFor(uid, onConnected)
    const code = await joinCommand(argv, io)
    process.stdout.write(`${uid}\texit\t${code}\n`)
    if (code !== ExitCode.Failed || leaving || io.connected() || attempt === 2) return
    process.stdout.write(`${uid}\tretry\tthe join failed; joining again\n`)
  }
}

// Joins spread out: six ICE and DTLS handshakes at once, in JavaScript on both ends, share the CPU, so on a
// busy machine each took longer than the engine waits for the media to connect (all failed at 6–9 s,
// measured). The next starts once the last is Connected or STAGGER_MS after it started, whichever is first:
// strictly one after another took 7–20 s a join at load 20, too long for six in a row.
const STAGGER_MS = 2000
const publishing: Promise<void>[] = []
for (const { uid, argv } of runs) {
  if (leaving) break
  let settled = (): void => undefined
  const joined = new Promise<void>((resolve) => (settled = resolve))
  publishing.push(publish(uid, argv, () => settled()).finally(() => settled()))
  await Promise.race([joined, new Promise((resolve) => setTimeout(resolve, STAGGER_MS))])
}
await Promise.all(publishing)
process.exit(0)
