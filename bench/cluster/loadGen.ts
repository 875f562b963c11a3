/**
 * bench:cluster's load generator (a child process, several run side by side to use both cores): werift test
 * clients (e2e/sfu/client.ts, the ones bench:sfu uses, payload checks off) in channels of 4 where every
 * participant publishes synthetic audio and video. It places each channel as a proxy does (the proxy's
 * `createRedisPlacement`) and joins its participants straight on the node's signaling URL (no proxy relay in
 * between: the node is under test). A `window` request counts, for every participant, the packets of each
 * other participant of its channel sent during the window that arrived.
 */
import { fileURLToPath, pathToFileURL } from 'node:url'
import { fork, type ChildProcess } from 'node:child_process'
import { createRedisPlacement } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { SrtpAuthenticationError } from 'werift'
import { TestClient } from '../../e2e/sfu/client'
import { sleep } from '../../e2e/support/tools'

export const BENCH_APP = { appKey: 'bench', secret: 'bench-secret-0123456789abcdef' }
export const PER_CHANNEL = 4
const RETRY_UID_OFFSET = 100
/** The test client's video packet size (e2e/sfu/media.ts videoFramePayloads' default MTU). */
const VIDEO_MTU = 1100

export interface LoadGenOptions {
  redis: string
  region: string
  fps: number
  frameBytes: number
  /**
   * Participants per channel that decrypt and count what they receive; the others drop each received RTP
   * packet after the socket read, before SRTP (the node's work is the same: it encrypts and sends to every
   * participant). Keeps the generators' CPU well below the node's on a machine they share.
   */
  listeners: number
}

type GenRequest = { type: 'add'; channels: string[] } | { type: 'window'; windowMs: number }
export type GenReply =
  | { type: 'ready' }
  | { type: 'added'; participants: number; failed: number; nodes: Record<string, number>; reason?: string }
  | {
      type: 'window'
      expected: number
      received: number
      cpuMicros: number
      elapsedMs: number
      /** Packets the participants sent in the window, and what their timers should have sent. */
      sent: number
      /** What the node had to forward of them: each sent packet × the other participants of its channel. */
      forwarded: number
      nominal: number
      /** The worst sender → receiver pairs (under 90 % received), for a lossy step's report. */
      lossy: string[]
    }

type Counts = Record<'audio' | 'video', number>

export interface LoadGen {
  add(channels: string[]): Promise<Extract<GenReply, { type: 'added' }>>
  window(windowMs: number): Promise<Extract<GenReply, { type: 'window' }>>
  close(): Promise<void>
}

export async function startLoadGen(options: LoadGenOptions): Promise<LoadGen> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ask = <T extends GenReply['type']>(type: T, request?: GenRequest) =>
    new Promise<Extract<GenReply, { type: T }>>((resolve, reject) => {
      const onMessage = (reply: GenReply) => {
        if (reply.type !== type) return
        child.off('message', onMessage)
        resolve(reply as Extract<GenReply, { type: T }>)
      }
      child.on('message', onMessage)
      void exited.then(() => reject(new Error('the load generator exited')))
      if (request) child.send(request)
    })
  await ask('ready')
  return {
    add: (channels) => ask('added', { type: 'add', channels }),
    window: (windowMs) => ask('window', { type: 'window', windowMs }),
    async close() {
      child.disconnect()
      await exited
    },
  }
}

const cpuMicros = (): number => {
  const { user, system } = process.cpuUsage()
  return user + system
}

interface Member {
  channel: string
  client: TestClient
}

async function main(options: LoadGenOptions): Promise<void> {
  const placement = createRedisPlacement({
    redis: options.redis,
    region: options.region,
    logger: createLogger('silent'),
  })
  const members: Member[] = []
  const joinOne = async (channel: string, url: string, uid: number): Promise<TestClient> => {
    const token = await mintJoinToken({ ...BENCH_APP, channel, uid, ttlSeconds: 3600 })
    const client = await TestClient.connect({ url, token, channel, uid, verify: false })
    try {
      await client.joined()
      await client.connected(20_000)
    } catch (err) {
      await client.close() // out of the channel, or its subscribers would wait for its media
      throw err
    }
    if (uid % RETRY_UID_OFFSET > options.listeners) discardInbound(client)
    client.startMedia({ fps: options.fps, frameBytes: options.frameBytes })
    return client
  }
  const add = async (channels: string[]): Promise<GenReply> => {
    let failed = 0
    let reason: string | undefined
    const nodes: Record<string, number> = {}
    // One channel at a time, its participants joining together (a meeting starting).
    for (const channel of channels) {
      let node: { nodeId: string; signalUrl: string }
      try {
        node = await placement.place({ appKey: BENCH_APP.appKey, name: channel })
      } catch (err) {
        failed += PER_CHANNEL // no node takes it (Redis unreachable within its timeout on a starved machine)
        reason ??= String(err)
        continue
      }
      const { nodeId, signalUrl } = node
      nodes[nodeId] = (nodes[nodeId] ?? 0) + 1
      // A join that fails is tried once more under another uid (a loaded machine loses DTLS handshakes; the
      // failed uid may still be leaving the channel), as bench:sfu does.
      const joins = Array.from({ length: PER_CHANNEL }, (_, i) =>
        joinOne(channel, signalUrl, i + 1).catch(() => joinOne(channel, signalUrl, i + 1 + RETRY_UID_OFFSET)),
      )
      for (const result of await Promise.allSettled(joins)) {
        if (result.status === 'fulfilled') members.push({ channel, client: result.value })
        else {
          failed++
          reason ??= String(result.reason)
        }
      }
    }
    return { type: 'added', participants: members.length, failed, nodes, ...(reason ? { reason } : {}) }
  }
  const window = async (windowMs: number): Promise<GenReply> => {
    const from = new Map(members.map((m) => [m.client, m.client.sent]))
    const cpu0 = cpuMicros()
    const started = performance.now()
    await sleep(windowMs)
    const to = new Map(members.map((m) => [m.client, m.client.sent]))
    const elapsedMs = performance.now() - started
    const cpu = cpuMicros() - cpu0
    await sleep(300) // packets still in flight
    let expected = 0
    let received = 0
    const pairs: { ratio: number; text: string }[] = []
    for (const receiver of members) {
      if (receiver.client.options.uid % RETRY_UID_OFFSET > options.listeners) continue
      for (const sender of members) {
        if (sender.channel !== receiver.channel || sender === receiver) continue
        const a = from.get(sender.client)!
        const b = to.get(sender.client)!
        let pairExpected = 0
        let pairReceived = 0
        for (const kind of ['audio', 'video'] as const) {
          pairExpected += b[kind] - a[kind]
          pairReceived += countIn(receiver.client, sender.client.options.uid, kind, a, b)
        }
        expected += pairExpected
        received += pairReceived
        if (pairReceived < 0.9 * pairExpected) {
          const { uid } = sender.client.options
          pairs.push({
            ratio: pairReceived / pairExpected,
            text: `${sender.channel} ${uid}→${receiver.client.options.uid} ${pairReceived}/${pairExpected}`,
          })
        }
      }
    }
    const perFrame = Math.max(1, Math.ceil(options.frameBytes / VIDEO_MTU))
    const nominal = members.length * (elapsedMs / 1000) * (50 + options.fps * perFrame)
    let sent = 0
    let forwarded = 0
    for (const { client, channel } of members) {
      const a = from.get(client)!
      const b = to.get(client)!
      const packets = b.audio - a.audio + b.video - a.video
      sent += packets
      forwarded += packets * (members.filter((m) => m.channel === channel).length - 1)
    }
    const lossy = pairs.sort((x, y) => x.ratio - y.ratio).map((p) => p.text)
    return {
      type: 'window',
      expected,
      received,
      cpuMicros: cpu,
      elapsedMs,
      sent,
      forwarded,
      nominal,
      lossy: lossy.slice(0, 4),
    }
  }
  process.on('message', (request: GenRequest) => {
    const run = request.type === 'add' ? add(request.channels) : window(request.windowMs)
    void run.then((reply) => process.send?.(reply))
  })
  process.on('disconnect', () => {
    for (const { client } of members) {
      client.stopMedia()
      void client.close()
    }
    void placement.close()
    setTimeout(() => process.exit(0), 200)
  })
  process.send?.({ type: 'ready' } satisfies GenReply)
}

/** One error thrown for every dropped packet (no stack trace taken per packet). */
const DISCARDED = new SrtpAuthenticationError('bench: received media discarded')

/**
 * A participant that only publishes as far as the generator's CPU goes: werift drops a packet whose SRTP
 * decryption throws SrtpAuthenticationError, so received RTP stops right after the socket read (RTCP, e.g.
 * the node's keyframe requests, still goes through).
 */
function discardInbound(client: TestClient): void {
  for (const transport of client.pc.dtlsTransports) {
    transport.srtp.decrypt = () => {
      throw DISCARDED
    }
  }
}

function countIn(
  receiver: TestClient,
  uid: number,
  kind: 'audio' | 'video',
  from: Counts,
  to: Counts,
): number {
  let n = 0
  for (const counter of receiver.received.get(`${uid}:${kind}`)?.counters ?? []) {
    if (counter >= from[kind] && counter < to[kind]) n++
  }
  return n
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(JSON.parse(process.argv[2] ?? '{}') as LoadGenOptions).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}
