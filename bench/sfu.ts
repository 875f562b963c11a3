/**
 * SFU fan-out bench (`npm run bench:sfu`, docs/sfu.md "Bench"): one publisher (30 fps VP8 at ~800 kbps + Opus at
 * 50 packets/s) → N subscribers on loopback, N growing. Three processes so that each side's CPU is its
 * own: the conference server, the subscribers, and this one (publisher and orchestration). For each N it
 * measures, over a window, the packets/s the server forwards, the loss seen by the subscribers (packets
 * missing from what the publisher sent in the window), the server's CPU (% of one core) and its CPU time per
 * forwarded packet (user + system time of the server process over the window ÷ packets forwarded in it: CPU,
 * not wall time, so it holds when other work shares the machine) with the packets/s one core would forward
 * at that cost. It ends with one JSON line for the largest N with < 1 % loss:
 * {max_subscribers, pps, loss, cpu, us_per_pkt, pps_per_core}.
 *
 * Options (env): SFU_BENCH_STEPS="10,20,30" (subscriber counts), SFU_BENCH_WINDOW_MS=5000,
 * SFU_BENCH_JOIN_BATCH=5 (subscribers joining at once), SFU_BENCH_PROFILE=<dir> (a V8 CPU profile of the server over each measured window, `<dir>/sfu-<N>.cpuprofile`:
 * the steady forwarding, without start-up and joins), SFU_BENCH_DEBUG=1 (per-subscriber counts).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
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
/** Subscribers joining at once (fewer on a loaded machine, where DTLS handshakes time out). */
const JOIN_BATCH = Number(process.env.SFU_BENCH_JOIN_BATCH ?? 5)

type Counts = { audio: number; video: number }
type Request =
  /** `profile`: start (or stop and write) the server's CPU profile of the window named `subscribers`. */
  | { type: 'stats'; profile?: 'start' | 'stop'; subscribers?: number }
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
  const profiler = process.env.SFU_BENCH_PROFILE
    ? new WindowProfiler(process.env.SFU_BENCH_PROFILE)
    : undefined
  process.on('message', (request: Request) => {
    if (request.type !== 'stats') return
    void (async () => {
      // Started before and stopped after the figures are taken: starting and stopping cost more than the
      // sampling (a profiled run's figures are a little higher all the same).
      if (request.profile === 'start') await profiler?.start()
      const forwarded = server.health().details.forwardedPackets
      send({ type: 'stats', cpuMicros: cpuMicros(), forwarded, at: performance.now() })
      if (request.profile === 'stop') await profiler?.stop(request.subscribers ?? 0)
    })()
  })
  send({ type: 'ready', port: server.port })
}

/** V8's CPU profiler over one measured window at a time (node:inspector, in the server process). */
class WindowProfiler {
  private readonly session = new Session()

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true })
    this.session.connect()
  }

  async start(): Promise<void> {
    await this.session.post('Profiler.enable')
    await this.session.post('Profiler.start')
  }

  async stop(subscribers: number): Promise<void> {
    const { profile } = await this.session.post('Profiler.stop')
    writeFileSync(join(this.dir, `sfu-${subscribers}.cpuprofile`), JSON.stringify(profile))
  }
}

/** A receive-only subscriber; a join that fails is tried once more (a loaded machine loses DTLS handshakes). */
async function joinSubscriber(url: string, uid: number): Promise<TestClient> {
  const attempt = async (as: number) => {
    const options = { url, token: await token(as), channel: CHANNEL, uid: as }
    return TestClient.join({ ...options, publish: { audio: false, video: false }, verify: false }, 20_000)
  }
  return attempt(uid).catch(() => attempt(uid + RETRY_UID_OFFSET))
}

/** A retried join takes another uid: the failed one may still be leaving the channel. */
const RETRY_UID_OFFSET = 100_000

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
            const started = performance.now()
            const client = await joinSubscriber(request.url, request.firstUid + i + j)
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
  return fork(fileURLToPath(import.meta.url), [role], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
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
  /** Server CPU time (µs) per forwarded packet, and the packets/s one core forwards at that cost. */
  usPerPkt: number
  ppsPerCore: number
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
  console.log(
    'subscribers | forwarded pkt/s | loss % | server CPU % | server µs/pkt | pkt/s per core | subscribers CPU %',
  )

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
    const s0 = await ask(server, { type: 'stats', profile: 'start' }, 'stats')
    const c0 = await ask(subs, { type: 'count', from, to: from }, 'counted')
    await sleep(WINDOW_MS)
    const to = publisher.sent
    const s1 = await ask(server, { type: 'stats', profile: 'stop', subscribers: total }, 'stats')
    await sleep(300) // packets still in flight
    const c1 = await ask(subs, { type: 'count', from, to }, 'counted')
    const expected = (to.audio - from.audio + to.video - from.video) * c1.subscribers
    const received = c1.received.audio + c1.received.video
    const elapsed = s1.at - s0.at
    const forwarded = s1.forwarded - s0.forwarded
    const usPerPkt = forwarded > 0 ? (s1.cpuMicros - s0.cpuMicros) / forwarded : 0
    const row: Row = {
      subscribers: c1.subscribers,
      pps: Math.round((forwarded * 1000) / elapsed),
      loss: expected === 0 ? 1 : Math.max(0, 1 - received / expected),
      cpu: Math.round((((s1.cpuMicros - s0.cpuMicros) / 1000) * 100) / elapsed),
      usPerPkt: Number(usPerPkt.toFixed(1)),
      ppsPerCore: usPerPkt > 0 ? Math.round(1e6 / usPerPkt) : 0,
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
    const cells = [
      row.subscribers,
      row.pps,
      (row.loss * 100).toFixed(2),
      row.cpu,
      row.usPerPkt,
      row.ppsPerCore,
      row.subscribersCpu,
    ]
    console.log(cells.map((c, i) => String(c).padStart([11, 15, 6, 12, 13, 14, 17][i]!)).join(' | '))
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
      us_per_pkt: best?.usPerPkt ?? 0,
      pps_per_core: best?.ppsPerCore ?? 0,
    }),
  )
  // Children exit on disconnect.
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
