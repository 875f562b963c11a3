/**
 * SFU fan-out bench (`npm run bench:sfu`, docs/sfu.md "Bench"): one publisher (30 fps VP8 at ~800 kbps + Opus at
 * 50 packets/s) → N subscribers on loopback, N growing. Three processes so that each side's CPU is its
 * own: the conference server, the subscribers, and this one (publisher and orchestration). For each N it
 * measures, over a window, the packets/s the server forwards, the loss seen by the subscribers (packets
 * missing from what the publisher sent in the window) and the server's CPU (% of one core). It ends with
 * one JSON line for the largest N with < 1 % loss: {max_subscribers, pps, loss, cpu}.
 *
 * Options (env): SFU_BENCH_STEPS="10,20,30" (subscriber counts), SFU_BENCH_WINDOW_MS=5000,
 * SFU_BENCH_PROFILE=<dir> (CPU profile of the server), SFU_BENCH_DEBUG=1 (per-subscriber counts).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { mintJoinToken } from '../src/protocol/auth/joinToken'
import { ConferenceServer, SfuConfigSchema } from '../src/sfu'
import { TestClient } from '../e2e/sfu/client'

const APP = { appKey: 'bench', secret: 'bench-secret-0123456789abcdef' }
const CHANNEL = 'bench'
const FPS = 30
const FRAME_BYTES = Math.round(800_000 / 8 / FPS)
const STEPS = (process.env.SFU_BENCH_STEPS ?? '10,20,30,40,50,60,70,80,90,100,120,140,160')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
const WINDOW_MS = Number(process.env.SFU_BENCH_WINDOW_MS ?? 5000)
const MAX_LOSS = 0.01
/** Subscribers joining at once. */
const JOIN_BATCH = 5

type Counts = { audio: number; video: number }
type Request =
  | { type: 'stats' }
  | { type: 'add'; url: string; count: number; firstUid: number }
  | { type: 'count'; from: Counts; to: Counts }
type Reply =
  | { type: 'ready'; port: number }
  | { type: 'stats'; cpuMicros: number; forwarded: number; at: number }
  | { type: 'added'; total: number; failed: number; slowestJoinMs: number; reason?: string }
  | {
      type: 'counted'
      received: Counts
      perSubscriber: number[]
      subscribers: number
      cpuMicros: number
      at: number
    }

function cpuMicros(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

async function token(uid: number): Promise<string> {
  return mintJoinToken({ ...APP, channel: CHANNEL, uid, ttlSeconds: 3600 })
}

// ---------------------------------------------------------------------------------------------------------
// Child roles

async function serverRole(): Promise<void> {
  const config = SfuConfigSchema.parse({ enabled: true, port: 0, maxParticipants: 1000, keepaliveMs: 60_000 })
  const server = await ConferenceServer.start(config, { apps: [APP], logger: pino({ level: 'warn' }) })
  process.on('message', (request: Request) => {
    if (request.type !== 'stats') return
    const forwarded = server.health().details.forwardedPackets
    send({ type: 'stats', cpuMicros: cpuMicros(), forwarded, at: performance.now() })
  })
  send({ type: 'ready', port: server.port })
}

async function subscribersRole(): Promise<void> {
  const clients: TestClient[] = []
  process.on('message', (request: Request) => {
    if (request.type === 'add') {
      void (async () => {
        let failed = 0
        let slowestJoinMs = 0
        let reason: string | undefined
        for (let i = 0; i < request.count; i += JOIN_BATCH) {
          const batch = Array.from({ length: Math.min(JOIN_BATCH, request.count - i) }, async (_, j) => {
            const uid = request.firstUid + i + j
            const options = { url: request.url, token: await token(uid), channel: CHANNEL, uid }
            const started = performance.now()
            const client = await TestClient.join(
              { ...options, publish: { audio: false, video: false }, verify: false },
              20_000,
            )
            slowestJoinMs = Math.max(slowestJoinMs, performance.now() - started)
            return client
          })
          for (const result of await Promise.allSettled(batch)) {
            if (result.status === 'fulfilled') clients.push(result.value)
            else {
              failed++
              reason ??= String(result.reason)
            }
          }
        }
        const slowest = Math.round(slowestJoinMs)
        send({
          type: 'added',
          total: clients.length,
          failed,
          slowestJoinMs: slowest,
          ...(reason ? { reason } : {}),
        })
      })()
    } else if (request.type === 'count') {
      const received: Counts = { audio: 0, video: 0 }
      const perSubscriber: number[] = []
      for (const client of clients) {
        let mine = 0
        for (const kind of ['audio', 'video'] as const) {
          for (const counter of client.received.get(`1:${kind}`)?.counters ?? []) {
            if (counter >= request.from[kind] && counter < request.to[kind]) {
              received[kind]++
              mine++
            }
          }
        }
        perSubscriber.push(mine)
      }
      const at = performance.now()
      send({
        type: 'counted',
        received,
        perSubscriber,
        subscribers: clients.length,
        cpuMicros: cpuMicros(),
        at,
      })
    }
  })
  send({ type: 'ready', port: 0 })
}

function send(reply: Reply): void {
  process.send?.(reply)
}

// ---------------------------------------------------------------------------------------------------------
// Orchestrator

function spawn(role: string): ChildProcess {
  // SFU_BENCH_PROFILE=dir: a V8 CPU profile of the server process, for `node --cpu-prof` tooling.
  const profile = role === 'server' && process.env.SFU_BENCH_PROFILE
  const execArgv = ['--import', 'tsx', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])]
  return fork(fileURLToPath(import.meta.url), [role], { execArgv, stdio: 'inherit' })
}

function ask<T extends Reply['type']>(
  child: ChildProcess,
  request: Request | undefined,
  type: T,
): Promise<Extract<Reply, { type: T }>> {
  return new Promise((resolve) => {
    const onMessage = (reply: Reply) => {
      if (reply.type !== type) return
      child.off('message', onMessage)
      resolve(reply as Extract<Reply, { type: T }>)
    }
    child.on('message', onMessage)
    if (request) child.send(request)
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Row {
  subscribers: number
  pps: number
  loss: number
  cpu: number
  subscribersCpu: number
}

async function main(): Promise<void> {
  const server = spawn('server')
  const subs = spawn('subscribers')
  const { port } = await ask(server, undefined, 'ready')
  await ask(subs, undefined, 'ready')
  const url = `ws://127.0.0.1:${port}/v1/signal`
  const publisher = await TestClient.join({
    url,
    token: await token(1),
    channel: CHANNEL,
    uid: 1,
    verify: false,
  })
  publisher.startMedia({ fps: FPS, frameBytes: FRAME_BYTES })
  console.log(
    `publisher: ${FPS} fps VP8, ${FRAME_BYTES} B/frame (~${Math.round((FRAME_BYTES * 8 * FPS) / 1000)} kbps) + Opus 50 pkt/s`,
  )
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores are shared with other work)`,
  )
  console.log('subscribers | forwarded pkt/s | loss % | server CPU % | subscribers CPU %')

  const rows: Row[] = []
  const joins: string[] = []
  let total = 0
  for (const target of STEPS) {
    if (target > total) {
      const added = await ask(
        subs,
        { type: 'add', url, count: target - total, firstUid: 1000 + total },
        'added',
      )
      total = target
      const failures = added.failed ? `, ${added.failed} failed (${added.reason})` : ''
      joins.push(`${added.total}: slowest join ${added.slowestJoinMs} ms${failures}`)
      if (added.failed > 0) break
    }
    await sleep(1000) // keyframes and renegotiations settle
    const from = publisher.sent
    const s0 = await ask(server, { type: 'stats' }, 'stats')
    const c0 = await ask(subs, { type: 'count', from, to: from }, 'counted')
    await sleep(WINDOW_MS)
    const to = publisher.sent
    const s1 = await ask(server, { type: 'stats' }, 'stats')
    await sleep(300) // packets still in flight
    const c1 = await ask(subs, { type: 'count', from, to }, 'counted')
    const expected = (to.audio - from.audio + to.video - from.video) * c1.subscribers
    const received = c1.received.audio + c1.received.video
    const elapsed = s1.at - s0.at
    const row: Row = {
      subscribers: c1.subscribers,
      pps: Math.round(((s1.forwarded - s0.forwarded) * 1000) / elapsed),
      loss: expected === 0 ? 1 : Math.max(0, 1 - received / expected),
      cpu: Math.round((((s1.cpuMicros - s0.cpuMicros) / 1000) * 100) / elapsed),
      subscribersCpu: Math.round((((c1.cpuMicros - c0.cpuMicros) / 1000) * 100) / (c1.at - c0.at)),
    }
    rows.push(row)
    if (process.env.SFU_BENCH_DEBUG) {
      const sorted = [...c1.perSubscriber].sort((a, b) => a - b)
      const sent = to.audio - from.audio + to.video - from.video
      console.log(
        `  sent ${sent} in ${WINDOW_MS} ms; per subscriber min ${sorted[0]} median ${sorted[sorted.length >> 1]} max ${sorted.at(-1)}`,
      )
    }
    const cells = [row.subscribers, row.pps, (row.loss * 100).toFixed(2), row.cpu, row.subscribersCpu]
    console.log(cells.map((c, i) => String(c).padStart([11, 15, 6, 12, 17][i]!)).join(' | '))
    if (row.loss >= 5 * MAX_LOSS) break
  }
  publisher.stopMedia()
  console.log(`joins (${JOIN_BATCH} at a time) — ${joins.join('; ')}`)
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
  const best = rows.filter((r) => r.loss < MAX_LOSS).at(-1)
  console.log(
    JSON.stringify({
      max_subscribers: best?.subscribers ?? 0,
      pps: best?.pps ?? 0,
      loss: best ? Number(best.loss.toFixed(4)) : 1,
      cpu: best?.cpu ?? 0,
    }),
  )
  // Children exit on disconnect (a profiled server writes its profile then).
  server.disconnect()
  subs.disconnect()
  setTimeout(() => process.exit(0), 500)
}

const role = process.argv[2]
if (role === 'server' || role === 'subscribers') {
  // A child never outlives the orchestrator.
  process.on('disconnect', () => process.exit(0))
  void (role === 'server' ? serverRole() : subscribersRole())
} else {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
