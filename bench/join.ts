/**
 * Join latency per proxy mode (`npm run bench:join`, docs/engine.md "Join bench"), through a real ProxyServer and
 * ConferenceServer in this process on loopback (e2e/support/callStack.ts, SFU defaults). A publisher
 * engine stays in the channel pushing ~30 fps video (a key frame whenever asked); for each mode a fresh
 * engine joins, ≥ 20 times, modes taken in turn so that they share the machine's state: join call →
 * Connected (`connectionStateChanged` Connected), and → its first remote video frame. Direct mode is the
 * baseline; werift gets a STUN server that never answers there, so its 0.5 s server-reflexive gathering
 * wait is part of the figure (nothing leaves the machine). Prints a table of p50/p95 per mode and ends with
 * one JSON line of the same figures.
 *
 * `tls-http-proxy` is TLS 443 through an HTTP CONNECT proxy (in process, basic auth): the corporate-proxy
 * path of issue 6.
 * Options (env): JOIN_BENCH_JOINS=20 (joins per mode), JOIN_BENCH_FRAME_TIMEOUT_MS=5000.
 * `--lab` (or BENCH_JOIN_LAB=1): the firewall-lab mode instead, round trips over an emulated link
 * (bench/join/lab.ts, root only).
 */
import { createSocket } from 'node:dgram'
import { createEngine } from '../src/engine'
import { timedJoin, type TimedJoin } from './join/timedJoin'
import { startCallStack } from '../e2e/support/callStack'
import { startConnectProxy } from '../e2e/support/connectProxy'
import { TransportType } from '../src/shared/engine'
import { makePeer } from '../e2e/engine/harness'
import { fixed, formatTable } from './lib/table'

// The lab mode (root): round trips on the critical path over an emulated access link (bench/join/lab.ts).
if (process.argv.includes('--lab') || process.env.BENCH_JOIN_LAB === '1') {
  await import('./join/lab')
  process.exit(0)
}

const JOINS = Math.max(1, Number(process.env.JOIN_BENCH_JOINS ?? 20))
const FRAME_TIMEOUT_MS = Number(process.env.JOIN_BENCH_FRAME_TIMEOUT_MS ?? 5000)
const CHANNEL = 'bench-join'

const MODES = [
  { name: 'direct', mode: TransportType.None, viaHttpProxy: false },
  { name: 'udp', mode: TransportType.UDPProxy, viaHttpProxy: false },
  { name: 'tls', mode: TransportType.TCPProxy, viaHttpProxy: false },
  // TLS 443 through a corporate HTTP CONNECT proxy (an in-process one on loopback, with basic auth).
  { name: 'tls-http-proxy', mode: TransportType.TCPProxy, viaHttpProxy: true },
] as const
type ModeName = (typeof MODES)[number]['name']

type JoinFigure = TimedJoin

const stack = await startCallStack({}, 'bench')
const corporate = await startConnectProxy({ user: { username: 'bench', password: 'bench' } })
const httpProxy = { host: '127.0.0.1', port: corporate.port, username: 'bench', password: 'bench' }
const stun = createSocket('udp4')
await new Promise<void>((resolve) => stun.bind(0, '127.0.0.1', resolve))
const direct = { signalUrl: stack.sfuUrl, iceServers: [{ urls: `stun:127.0.0.1:${stun.address().port}` }] }

const publisher = makePeer(stack, 1, TransportType.UDPProxy)
const published = await publisher.engine.joinChannel(await stack.token(CHANNEL, 1), CHANNEL, 1)
if (published !== 0) throw new Error(`publisher join: ${published}`)
publisher.startMedia()

async function joinOnce(mode: TransportType, uid: number, viaHttpProxy: boolean): Promise<JoinFigure> {
  const engine = createEngine({ regions: [stack.region], direct, ...(viaHttpProxy ? { httpProxy } : {}) })
  engine.setRegion(stack.region.id)
  engine.setCloudProxy(mode)
  engine.enableLocalAudio(false)
  const token = await stack.token(CHANNEL, uid)
  const join = { token, channel: CHANNEL, uid, publisherUid: publisher.uid, frameTimeoutMs: FRAME_TIMEOUT_MS }
  return timedJoin(engine, join, `mode ${mode}, uid ${uid}`)
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

const figures = new Map<ModeName, JoinFigure[]>(MODES.map(({ name }) => [name, []]))
let uid = 100
for (let round = 0; round < JOINS; round++) {
  for (const { name, mode, viaHttpProxy } of MODES) {
    figures.get(name)!.push(await joinOnce(mode, uid++, viaHttpProxy))
  }
  process.stderr.write(`\rround ${round + 1}/${JOINS}`)
}
process.stderr.write('\n')

const summary = MODES.map(({ name }) => {
  const runs = figures.get(name)!
  const connected = runs.map((r) => r.connectedMs)
  const frames = runs.flatMap((r) => (r.firstFrameMs === undefined ? [] : [r.firstFrameMs]))
  return {
    mode: name,
    joins: runs.length,
    connected_p50_ms: percentile(connected, 50),
    connected_p95_ms: percentile(connected, 95),
    first_frame_p50_ms: percentile(frames, 50),
    first_frame_p95_ms: percentile(frames, 95),
    frames_missing: runs.length - frames.length,
  }
})

console.log(`join latency, ${JOINS} joins per mode, loopback (proxy + conference server in one process)\n`)
console.log(
  formatTable(
    ['mode', 'joins', '→ Connected p50', 'p95', '→ first video p50', 'p95', 'no frame'],
    summary.map((s) => [
      s.mode,
      String(s.joins),
      `${fixed(s.connected_p50_ms, 0)} ms`,
      `${fixed(s.connected_p95_ms, 0)} ms`,
      `${fixed(s.first_frame_p50_ms, 0)} ms`,
      `${fixed(s.first_frame_p95_ms, 0)} ms`,
      String(s.frames_missing),
    ]),
  ),
)
const rounded = (value: number | undefined): number | null => (value === undefined ? null : Math.round(value))
console.log(
  JSON.stringify(
    Object.fromEntries(
      summary.map((s) => [
        s.mode,
        {
          connected_p50_ms: rounded(s.connected_p50_ms),
          connected_p95_ms: rounded(s.connected_p95_ms),
          first_frame_p50_ms: rounded(s.first_frame_p50_ms),
          first_frame_p95_ms: rounded(s.first_frame_p95_ms),
          joins: s.joins,
        },
      ]),
    ),
  ),
)

publisher.stopMedia()
await publisher.engine.release()
stun.close()
await corporate.close()
await stack.close()
process.exit(0)
