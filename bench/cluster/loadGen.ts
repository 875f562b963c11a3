/**
 * bench:cluster's load generator (a child process, several run side by side to use both cores): werift test
 * clients (e2e/sfu/client.ts, the ones bench:sfu uses, payload checks off) in channels of 4 where every
 * participant publishes synthetic audio and video. It places each channel as a proxy does (the proxy's
 * `createRedisPlacement`) and joins its participants straight on the node's signaling URL (no proxy relay in
 * between: the node is under test). werift does the signaling, ICE and DTLS; the media is sent and counted
 * by bench/cluster/cheapMedia.ts (the native SRTP send, RTP headers counted without decryption) so that the
 * generators cost a fraction of what the node does. A `window` request counts, for every participant, the
 * packets of each other participant of its channel sent during the window that arrived.
 */
import { fileURLToPath, pathToFileURL } from 'node:url'
import { fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { createRedisPlacement } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { TestClient } from '../../e2e/sfu/client'
import { sleep } from '../../e2e/support/tools'
import { startReceiverReports } from './receiverReports'
import { drainSinks, HeaderCounter, startCheapMedia, type CheapPublisher, type Counts } from './cheapMedia'

export const BENCH_APP = { appKey: 'bench', secret: 'bench-secret-0123456789abcdef' }
export const PER_CHANNEL = 4
const RETRY_UID_OFFSET = 100
const PROFILE_DIR = process.env.CLUSTER_BENCH_PROFILE
/** The test client's video packet size (e2e/sfu/media.ts videoFramePayloads' default MTU). */
const VIDEO_MTU = 1100

export interface LoadGenOptions {
  redis: string
  region: string
  fps: number
  frameBytes: number
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
      /** Received headers that named no recent packet of their sender (HeaderCounter), not counted. */
      unmapped: number
      /** Packets of the window the native addon encrypted and sent, of `sent`. */
      nativeSent: number
    }

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
  media: CheapPublisher
  inbound: HeaderCounter
  stopReports: () => void
}

async function main(options: LoadGenOptions): Promise<void> {
  const placement = createRedisPlacement({
    redis: options.redis,
    region: options.region,
    logger: createLogger('silent'),
  })
  const members: Member[] = []
  /** CLUSTER_BENCH_PROFILE=<dir>: a V8 CPU profile of each window, `generator-<pid>-<participants>.cpuprofile`. */
  const profiler = PROFILE_DIR ? new Session() : undefined
  if (profiler) {
    mkdirSync(PROFILE_DIR!, { recursive: true })
    profiler.connect()
    await profiler.post('Profiler.enable')
  }
  /** Every publisher by channel and uid, from its first packet on: receivers tie their streams to them. */
  const publishers = new Map<string, CheapPublisher>()
  const joinOne = async (channel: string, url: string, uid: number): Promise<Member> => {
    const token = await mintJoinToken({ ...BENCH_APP, channel, uid, ttlSeconds: 3600 })
    const inbound = new HeaderCounter(
      (from, kind) => publishers.get(`${channel}/${from}`)?.sent[kind],
      (from, kind) => publishers.get(`${channel}/${from}`)?.sentCounter(kind),
    )
    const onRtp = inbound.onDecrypted.bind(inbound)
    const client = await TestClient.connect({ url, token, channel, uid, verify: false, onRtp })
    try {
      await client.joined()
      await client.connected(20_000)
      if (!inbound.attach(client)) throw new Error('the nominated pair is not plain UDP')
    } catch (err) {
      inbound.close()
      await client.close() // out of the channel, or its subscribers would wait for its media
      throw err
    }
    const media = startCheapMedia(client, { fps: options.fps, frameBytes: options.frameBytes }, inbound)
    publishers.set(`${channel}/${uid}`, media)
    return {
      channel,
      client,
      media,
      inbound,
      stopReports: startReceiverReports(client, inbound, !media.reportsNatively),
    }
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
        if (result.status === 'fulfilled') members.push(result.value)
        else {
          failed++
          reason ??= String(result.reason)
        }
      }
    }
    return { type: 'added', participants: members.length, failed, nodes, ...(reason ? { reason } : {}) }
  }
  const window = async (windowMs: number): Promise<GenReply> => {
    const snapshot = () => new Map<Member, Counts>(members.map((m) => [m, { ...m.media.sent }]))
    const unmapped = () => members.reduce((n, m) => n + m.inbound.unmapped, 0)
    const native = () => members.reduce((n, m) => n + m.media.nativePackets(), 0)
    const from = snapshot()
    const [unmapped0, native0] = [unmapped(), native()]
    const cpu0 = cpuMicros()
    const started = performance.now()
    await profiler?.post('Profiler.start')
    await sleep(windowMs)
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop')
      writeFileSync(
        join(PROFILE_DIR!, `generator-${process.pid}-${members.length}.cpuprofile`),
        JSON.stringify(profile),
      )
    }
    const to = snapshot()
    const nativeSent = native() - native0
    const elapsedMs = performance.now() - started
    const cpu = cpuMicros() - cpu0
    await sleep(300) // packets still in flight
    drainSinks()
    let expected = 0
    let received = 0
    const pairs: { ratio: number; text: string }[] = []
    for (const receiver of members) {
      for (const sender of members) {
        if (sender.channel !== receiver.channel || sender === receiver) continue
        const a = from.get(sender)!
        const b = to.get(sender)!
        let pairExpected = 0
        let pairReceived = 0
        for (const kind of ['audio', 'video'] as const) {
          pairExpected += b[kind] - a[kind]
          pairReceived += receiver.inbound.count(sender.client.options.uid, kind, a[kind], b[kind])
        }
        expected += pairExpected
        received += pairReceived
        if (pairReceived < 0.9 * pairExpected) {
          const { uid } = sender.client.options
          pairs.push({
            ratio: pairReceived / pairExpected,
            text:
              `${sender.channel} ${uid}→${receiver.client.options.uid} ${pairReceived}/${pairExpected}` +
              (sender.media.moved?.() ? " (the sender's transport moved)" : ''),
          })
        }
      }
    }
    const perFrame = Math.max(1, Math.ceil(options.frameBytes / VIDEO_MTU))
    const nominal = members.length * (elapsedMs / 1000) * (50 + options.fps * perFrame)
    let sent = 0
    let forwarded = 0
    for (const member of members) {
      const a = from.get(member)!
      const b = to.get(member)!
      const packets = b.audio - a.audio + b.video - a.video
      sent += packets
      forwarded += packets * (members.filter((m) => m.channel === member.channel).length - 1)
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
      unmapped: unmapped() - unmapped0,
      nativeSent,
    }
  }
  process.on('message', (request: GenRequest) => {
    const run = request.type === 'add' ? add(request.channels) : window(request.windowMs)
    void run.then((reply) => process.send?.(reply))
  })
  process.on('disconnect', () => {
    for (const { client, media, inbound, stopReports } of members) {
      media.stop()
      stopReports()
      inbound.close()
      void client.close()
    }
    void placement.close()
    setTimeout(() => process.exit(0), 200)
  })
  process.send?.({ type: 'ready' } satisfies GenReply)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(JSON.parse(process.argv[2] ?? '{}') as LoadGenOptions).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}
