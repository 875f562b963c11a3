/**
 * `sfu.workers: 2` watched through the parent's one admin listener (issue 14 item 1, docs/operations.md
 * "Health and metrics"): `/metrics` carries every worker's series under `node="<its cluster node id>"`
 * (read from the workers' loopback admin ports) in one valid exposition, `/healthz` lists each worker's
 * state and load, and a SIGKILLed worker shows as down in both instead of going missing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { TEST_APP } from '../support/proxyConfig'
import { startRedis, type RedisServer } from '../support/redisServer'
import { freePortFor, waitFor } from '../support/tools'
import { startServerProcess, type ServerProcess } from '../support/serverProcess'

let redis: RedisServer
const servers: ServerProcess[] = []
const sockets: WebSocket[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.close()
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})
afterAll(() => redis?.stop())

interface WorkerRow {
  node: string
  pid: number
  running: boolean
  state: string
  participants?: number
}

/** A participant on `url`: joined once the server sends its offer; stays until the test ends. */
async function joinOne(url: string, uid: number): Promise<void> {
  const token = await mintJoinToken({ ...TEST_APP, channel: 'admin', uid, ttlSeconds: 60 })
  const ws = new WebSocket(url)
  sockets.push(ws)
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject)
    ws.once('open', () => {
      const capabilities = { audio: true, video: false }
      ws.send(JSON.stringify({ v: 1, type: 'join', token, channel: 'admin', uid, capabilities }))
    })
    ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'offer') resolve()
    })
  })
}

/** `name{node="…"} value` of an exposition, by node. */
function byNode(text: string, name: string): Record<string, number> {
  const found: Record<string, number> = {}
  for (const m of text.matchAll(new RegExp(`^${name}\\{node="([^"]+)"[^}]*\\} (\\S+)$`, 'gm')))
    found[m[1]!] = Number(m[2])
  return found
}

describe('sfu.workers: the parent admin listener', () => {
  it("/metrics has each worker's series under its node label, /healthz each worker's load; a SIGKILLed worker is down in both", async () => {
    const port = await freePortFor(['tcp'], 2)
    const server = await startServerProcess({
      log: { level: 'info' },
      apps: [TEST_APP],
      sfu: { enabled: true, port, workers: 2, drainTimeoutMs: 5000 },
      cluster: { redis: redis.url, region: 'admin', heartbeatMs: 200, ttlMs: 1500 },
      admin: { host: '127.0.0.1', port: 0 },
    })
    servers.push(server)
    const parent = server.lines.find((l) => l.msg === 'started' && l.pid === server.pid)!
    const base = `http://${String(parent['admin'])}`
    const workers = server.lines
      .filter((l) => l.msg === 'started' && l.pid !== server.pid)
      .map((l) => ({ pid: l.pid!, ...(l['sfu'] as { signal: string; nodeId: string }) }))
    const first = workers.find((w) => w.signal === `ws://127.0.0.1:${port}/v1/signal`)!
    const second = workers.find((w) => w !== first)!
    expect(first.nodeId).not.toBe(second.nodeId)

    await joinOne(first.signal, 7)
    let text = ''
    await waitFor(
      async () => {
        text = await (await fetch(`${base}/metrics`)).text()
        return byNode(text, 'pinhole_sfu_participants')[first.nodeId] === 1
      },
      'the participant in the parent /metrics',
      15_000,
    )
    expect(byNode(text, 'pinhole_sfu_participants')).toEqual({ [first.nodeId]: 1, [second.nodeId]: 0 })
    expect(byNode(text, 'pinhole_sfu_worker_up')).toEqual({ [first.nodeId]: 1, [second.nodeId]: 1 })
    // Each worker's own process series too, and one family per name: a valid exposition.
    expect(Object.keys(byNode(text, 'process_cpu_seconds_total')).sort()).toEqual(
      [first.nodeId, second.nodeId].sort(),
    )
    const types = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1])
    expect(types.length).toBeGreaterThan(10)
    expect(new Set(types).size).toBe(types.length)

    const health = async (): Promise<{ status: number; workers: WorkerRow[] }> => {
      const res = await fetch(`${base}/healthz`)
      const body = (await res.json()) as { details: { sfu: { workers: WorkerRow[] } } }
      return { status: res.status, workers: body.details.sfu.workers }
    }
    const before = await health()
    expect(before.status).toBe(200)
    expect(before.workers).toEqual([
      expect.objectContaining({ node: first.nodeId, state: 'up', running: true, participants: 1 }),
      expect.objectContaining({ node: second.nodeId, state: 'up', running: true, participants: 0 }),
    ])

    process.kill(second.pid, 'SIGKILL')
    await server.line((l) => l.msg === 'conference worker died', 'the died line')
    const after = await health()
    expect(after.status).toBe(503)
    expect(after.workers).toContainEqual(
      expect.objectContaining({ node: second.nodeId, pid: second.pid, running: false, state: 'down' }),
    )
    expect(after.workers).toContainEqual(
      expect.objectContaining({ node: first.nodeId, state: 'up', participants: 1 }),
    )
    text = await (await fetch(`${base}/metrics`)).text()
    expect(byNode(text, 'pinhole_sfu_worker_up')).toEqual({ [first.nodeId]: 1, [second.nodeId]: 0 })
    expect(byNode(text, 'pinhole_sfu_participants')).toEqual({ [first.nodeId]: 1 })
  })
})
