/**
 * The link emulator's delay line (docs/lab.md "The link emulator"), running in the lab's `link` namespace.
 * Started by linkEmulator.ts through a Perl shim that attached two TUN devices and left their file
 * descriptors open across exec (`LINK_TUN_FDS=up,down`): Node has no ioctl, so it cannot attach a TUN itself.
 * Policy routing sends every packet from `lan` into tun-up and every packet from the router into tun-down;
 * each read here is one IP packet, which a DelayLine holds (or drops) and which is then written back into
 * the same TUN, where the kernel routes it on toward its destination. Ops (`set`, `stats`) arrive as JSON
 * lines on stdin (agents/protocol.ts); the process exits when stdin closes.
 */
import { read, writeSync } from 'node:fs'
import { CLEAR_LINK, DelayLine, checkDirection, type LinkProfile } from '../delayLine'
import type { LinkOps } from './linkProtocol'
import { emit, serveRpc } from './rpc'

type Direction = keyof LinkProfile

/** Larger than any packet a 1500-byte MTU device hands us (GSO is segmented before it reaches a TUN). */
const READ_BUFFER_BYTES = 65_536

const fds = (process.env['LINK_TUN_FDS'] ?? '').split(',').map(Number)
const [upFd, downFd] = fds
if (fds.length !== 2 || upFd === undefined || downFd === undefined || fds.some((fd) => !(fd > 2)))
  throw new Error(
    `LINK_TUN_FDS must name two inherited TUN descriptors (got '${process.env['LINK_TUN_FDS']}')`,
  )

interface Side {
  fd: number
  line: DelayLine<Buffer>
  timer: NodeJS.Timeout | undefined
}

const sides: Record<Direction, Side> = {
  up: { fd: upFd, line: new DelayLine<Buffer>(CLEAR_LINK.up), timer: undefined },
  down: { fd: downFd, line: new DelayLine<Buffer>(CLEAR_LINK.down), timer: undefined },
}

/**
 * Node's timers fire on a millisecond clock, up to a millisecond either side of the instant asked for.
 * Releasing only packets already due made them ~0.8 ms late on average per direction (1.6 ms on a 20 ms
 * RTT); releasing those due within half a millisecond centres the error on zero.
 */
const RELEASE_SLACK_MS = 0.5

/**
 * Writes every due packet back into the TUN (a write to a TUN never blocks: the kernel takes the packet as
 * received on that device), then arms one timer for the next release.
 */
function pump(side: Side): void {
  side.timer = undefined
  const now = performance.now()
  for (const packet of side.line.due(now, RELEASE_SLACK_MS)) writeSync(side.fd, packet)
  const next = side.line.nextReleaseAt()
  if (next !== undefined)
    side.timer = setTimeout(() => pump(side), Math.max(1, Math.ceil(next - RELEASE_SLACK_MS - now)))
}

/** One read outstanding per TUN (a blocking read on a libuv pool thread), one packet per read. */
function readLoop(side: Side): void {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)
  const next = (): void =>
    read(side.fd, buffer, 0, buffer.length, null, (err, bytes) => {
      // A signal may interrupt the blocking read; anything else (the TUN gone) ends the delay line.
      if (err && err.code === 'EINTR') return next()
      if (err) throw err
      const packet = Buffer.from(buffer.subarray(0, bytes))
      const verdict = side.line.offer(performance.now(), bytes, packet)
      if (verdict.kind === 'queued' && side.timer === undefined) pump(side)
      next()
    })
  next()
}

serveRpc<LinkOps>({
  set(profile) {
    checkDirection(profile.up)
    checkDirection(profile.down)
    sides.up.line.configure(profile.up)
    sides.down.line.configure(profile.down)
    return {}
  },
  stats: () => ({ up: sides.up.line.stats(), down: sides.down.line.stats() }),
})
readLoop(sides.up)
readLoop(sides.down)
emit('ready', { pid: process.pid })
