/**
 * Placement end to end (issue 14 acceptance 1, docs/scaling.md, docs/proxy.md §9): a real `redis-server`,
 * three conference node processes and two proxy processes of one region (same TURN secret), every part
 * `pinhole-server start`. Thirty channels of two or three participants ask for their sessions at once, each
 * channel's participants split across the two proxies, so both proxies place the same new channel at the
 * same time; the PeerConnections are then set up ten at a time (seventy ICE and DTLS handshakes at once
 * starve two cores, in the test's process as much as in the nodes).
 * Then: every channel lives on exactly one node, every participant receives every other one's media
 * through the proxies' TURN relays with intact payloads, and the channels are spread evenly (±30 %).
 *
 * The clients are the lightest real ones that exchange media: a werift PeerConnection each (e2e/sfu/client.ts,
 * relay-only TURN over UDP through its proxy, as a desktop in UDP proxy mode), sending synthetic Opus whose
 * payloads carry the sender's uid and a counter (checked byte for byte on arrival). An engine per
 * participant would add its transport probes (a TURN allocation each) and timers for nothing this test
 * asks; e2e/engine/clusterRetry.test.ts joins an engine through a placing proxy.
 */
import { request } from 'node:https'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClusterReader } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import {
  PROXY_SESSION_PATH,
  ProxySessionInfoSchema,
  type ProxySessionInfo,
} from '../../src/shared/proxySession'
import { TestClient } from '../sfu/client'
import { generateTestCert } from '../support/certs'
import { TEST_APP } from '../support/proxyConfig'
import { startRedis, type RedisServer } from '../support/redisServer'
import { waitFor } from '../support/tools'
import { weriftRelayConfig } from '../support/weriftPeers'
import { startServerProcess, type ServerProcess } from '../support/serverProcess'
import type { ServerConfigInput } from '../../src/server/config'
import { clusterProxyConfig } from './clusterLab'

const REGION = 'lab'
const NODES = ['node-a', 'node-b', 'node-c']
const CHANNELS = 30
/** Every third channel has three participants, the others two: 70 in all. */
const sizeOf = (channel: number): number => (channel % 3 === 0 ? 3 : 2)
const channelName = (channel: number): string => `place-${channel}`
const AUDIO_PACKETS = 10
/** PeerConnections set up at once. */
const JOIN_BATCH = 10

/** `run` over `items`, at most `width` at a time, results in order. */
async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await run(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
  return results
}

interface LabProxy {
  process: ServerProcess
  tcp: number
}

let redis: RedisServer
let reader: ClusterReader
let certDir: string
let ca: string
const nodes: ServerProcess[] = []
const proxies: LabProxy[] = []
const clients: TestClient[] = []

function clusterSection(extra: Record<string, unknown> = {}): NonNullable<ServerConfigInput['cluster']> {
  return { redis: redis.url, region: REGION, heartbeatMs: 250, ttlMs: 2000, ...extra }
}

function nodeConfig(id: string): Record<string, unknown> {
  return {
    log: { level: 'info' },
    apps: [TEST_APP],
    sfu: { enabled: true, port: 0, workers: 1 },
    cluster: clusterSection({ nodeId: id }),
    admin: { host: '127.0.0.1', port: 0 },
  }
}

function proxyConfig(): ServerConfigInput {
  return clusterProxyConfig(REGION, clusterSection(), {
    tls: { certFile: join(certDir, 'cert.pem'), keyFile: join(certDir, 'key.pem') },
    rateLimit: { unauthenticatedPerSecond: 10_000, burst: 10_000, allocationsPerSecond: 10_000 },
    signal: { joinTimeoutMs: 30_000 },
  })
}

/** `POST /v1/proxy/session` over HTTPS, trusting the proxies' certificate only. */
function session(tcp: number, token: string): Promise<ProxySessionInfo> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: tcp,
        path: PROXY_SESSION_PATH,
        method: 'POST',
        ca,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`session on ${tcp}: ${res.statusCode} ${text}`))
          else resolve(ProxySessionInfoSchema.parse(JSON.parse(text)))
        })
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ token }))
  })
}

interface Planned {
  channel: string
  uid: number
  proxy: LabProxy
  token: string
  info?: ProxySessionInfo
}

/** The node a session's route ticket names (its body is readable; only the proxies can sign one). */
function ticketNode(info: ProxySessionInfo): string {
  const ticket = new URL(info.signalUrl).searchParams.get('route') ?? ''
  const body = JSON.parse(Buffer.from(ticket.split('.')[0]!, 'base64url').toString()) as { n: string }
  return body.n
}

/** Signaling and media through the session's proxy only; rejects when the PeerConnection fails. */
async function connect({ channel, uid, token }: Planned, info: ProxySessionInfo): Promise<TestClient> {
  const { codecs: _theirs, ...relay } = weriftRelayConfig({
    turnUrl: info.turn.urls.find((u) => u.endsWith('transport=udp'))!,
    username: info.turn.username,
    credential: info.turn.credential,
  })
  const client = await TestClient.connect({
    url: info.signalUrl,
    ws: { ca },
    token,
    channel,
    uid,
    publish: { audio: true, video: false },
    peer: relay,
  })
  try {
    await client.joined()
    const state = await client.until(() => settled(client), 'ICE and DTLS', 30_000)
    if (state !== 'connected') throw new Error(`${channel}/${uid}: PeerConnection ${state}`)
    return client
  } catch (error) {
    await client.close()
    throw error
  }
}

function settled(client: TestClient): 'connected' | 'failed' | undefined {
  const state = client.pc.connectionState
  return state === 'connected' || state === 'failed' ? state : undefined
}

/** Why each rejoin happened. */
const rejoins: string[] = []

/**
 * What a desktop in UDP proxy mode does with its session. On a machine loaded far past its two cores a
 * werift ICE check through the relay can time out; then the participant rejoins with a fresh session as
 * the engine would (counted and printed).
 */
async function joinThrough(p: Planned): Promise<TestClient> {
  let client: TestClient
  try {
    client = await connect(p, p.info!)
  } catch (error) {
    rejoins.push(String(error))
    client = await connect(p, await session(p.proxy.tcp, p.token))
  }
  clients.push(client)
  return client
}

beforeAll(async () => {
  redis = await startRedis()
  certDir = mkdtempSync(join(tmpdir(), 'pinhole-placement-'))
  const cert = await generateTestCert()
  ca = cert.certPem
  writeFileSync(join(certDir, 'cert.pem'), cert.certPem)
  writeFileSync(join(certDir, 'key.pem'), cert.keyPem, { mode: 0o600 })
  const started = Date.now()
  nodes.push(...(await Promise.all(NODES.map((id) => startServerProcess(nodeConfig(id))))))
  for (const process of await Promise.all([0, 1].map(() => startServerProcess(proxyConfig())))) {
    const line = process.lines.find((l) => l.msg === 'started' && l.pid === process.pid)!
    proxies.push({ process, tcp: (line['proxy'] as { ports: { tcp: number } }).ports.tcp })
  }
  console.log(`3 nodes and 2 proxies started in ${Date.now() - started} ms`)
  reader = await ClusterReader.connect(redis.url, createLogger('silent'))
  await waitFor(
    async () => (await reader.status()).nodes.length === NODES.length,
    'three nodes registered',
    10_000,
  )
}, 120_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await Promise.all([...nodes, ...proxies.map((p) => p.process)].map((p) => p.stop()))
  await reader?.close()
  await redis?.stop()
  rmSync(certDir, { recursive: true, force: true })
}, 60_000)

describe('thirty channels joined at once through two proxies onto three nodes', () => {
  it('puts each channel on one node, relays every pair’s media intact, and spreads the channels evenly', async () => {
    // Participant j of channel i goes through proxy (i + j) % 2: every channel has one on each proxy.
    const plan: Planned[] = await Promise.all(
      Array.from({ length: CHANNELS }, (_, i) =>
        Array.from({ length: sizeOf(i) }, async (_, j) => {
          // A uid per person, as in a company (TURN quotas count allocations per appKey:uid).
          const [channel, uid] = [channelName(i), 100 * i + j + 1]
          const token = await mintJoinToken({ ...TEST_APP, channel, uid, ttlSeconds: 300 })
          return { channel, uid, token, proxy: proxies[(i + j) % 2]! }
        }),
      ).flat(),
    )
    // Every session at once: this is where the channels are placed, both proxies racing for each one.
    const sessionsStarted = Date.now()
    await Promise.all(plan.map(async (p) => (p.info = await session(p.proxy.tcp, p.token))))
    const sessionsMs = Date.now() - sessionsStarted
    // Both proxies named the same node for every channel.
    const nodeOf = (p: Planned): string => ticketNode(p.info!)
    const placed = new Map(plan.map((p) => [p.channel, nodeOf(p)]))
    for (const p of plan) expect(nodeOf(p), `${p.channel}/${p.uid}`).toBe(placed.get(p.channel))
    // Then signaling and media, a few PeerConnections at a time: 70 ICE and DTLS handshakes at once starve
    // two cores (werift's checks time out), which is the test machine's limit, not the cluster's.
    const joinStarted = Date.now()
    const joined = await inBatches(plan, JOIN_BATCH, joinThrough)
    const joinMs = Date.now() - joinStarted
    joined.forEach((client) => client.startMedia())

    // Every participant hears every other one of its channel, payloads intact.
    const pairs = joined.flatMap((to, a) =>
      joined
        .filter((from, b) => a !== b && plan[a]!.channel === plan[b]!.channel)
        .map((from) => [to, from.options.uid] as const),
    )
    const mediaStarted = Date.now()
    await waitFor(
      () =>
        pairs.every(([to, uid]) => (to.received.get(`${uid}:audio`)?.counters.size ?? 0) >= AUDIO_PACKETS),
      'audio between every pair',
      30_000,
    )
    const mediaMs = Date.now() - mediaStarted
    const expectedPairs = Array.from({ length: CHANNELS }, (_, i) => sizeOf(i) * (sizeOf(i) - 1))
    expect(pairs.length).toBe(expectedPairs.reduce((a, b) => a + b, 0))
    for (const [to, uid] of pairs) {
      const track = to.received.get(`${uid}:audio`)!
      expect(track.corrupt, `uid ${uid} → ${to.options.channel}/${to.options.uid}`).toBe(0)
    }

    // Redis: each channel's key names one live node; the nodes themselves report (heartbeat) holding
    // exactly the channels placed on them and every participant, no channel twice.
    const holders = await Promise.all(
      Array.from({ length: CHANNELS }, (_, i) =>
        reader.holder({ appKey: TEST_APP.appKey, name: channelName(i) }),
      ),
    )
    // Where the tickets sent its participants.
    expect(holders).toEqual(Array.from({ length: CHANNELS }, (_, i) => placed.get(channelName(i))))
    expect(holders.every((h) => h !== undefined && NODES.includes(h))).toBe(true)
    const perNode = NODES.map((id) => holders.filter((h) => h === id).length)
    await waitFor(
      async () => {
        const status = await reader.status()
        return (
          status.nodes.reduce((n, node) => n + node.load.participants, 0) === plan.length &&
          NODES.every((id, k) => status.nodes.find((n) => n.id === id)?.load.channels === perNode[k])
        )
      },
      'the nodes report the placed channels and every participant',
      10_000,
    )
    const status = await reader.status()
    for (const node of status.nodes) {
      const names = node.channels.map((c) => c.name).sort()
      const placedHere = holders.flatMap((h, i) => (h === node.id ? [channelName(i)] : [])).sort()
      expect(names, node.id).toEqual(placedHere)
    }
    // Spread: within ±30 % of even (10 each).
    const even = CHANNELS / NODES.length
    for (const count of perNode) {
      expect(count).toBeGreaterThanOrEqual(Math.ceil(even * 0.7))
      expect(count).toBeLessThanOrEqual(Math.floor(even * 1.3))
    }
    console.log(
      `${plan.length} sessions (placements) in ${sessionsMs} ms, joins in ${joinMs} ms (${rejoins.length} rejoined: ${rejoins.join('; ')}), audio between all ${pairs.length} pairs ${mediaMs} ms later; ` +
        `channels per node ${NODES.map((id, k) => `${id} ${perNode[k]}`).join(', ')}`,
    )
  }, 240_000)
})
