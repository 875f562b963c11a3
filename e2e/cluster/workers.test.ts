/**
 * `sfu.workers: 2` (issue 14 item 1, docs/scaling.md "Workers"): one `pinhole-server start` runs two
 * conference nodes as processes of their own, each on its own signaling port (sfu.port + i), with its own
 * half of `sfu.rtcPortRange` (the port in its offer's ICE candidate) and its own node in Redis. SIGTERM to
 * the parent alone drains both and exits 0; a worker that dies is logged, not restarted, and /healthz
 * says so; when none is left the parent exits 1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { ClusterReader } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import { TEST_APP } from '../support/proxyConfig'
import { startRedis, type RedisServer } from '../support/redisServer'
import { freePort, freePortFor, sleep } from '../support/tools'
import { startServerProcess, type LogLine, type ServerProcess } from '../support/serverProcess'

let redis: RedisServer
const servers: ServerProcess[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})
afterAll(() => redis?.stop())

async function twoWorkers(): Promise<{
  server: ServerProcess
  port: number
  rtc: [number, number]
  admin: number
}> {
  const port = await freePortFor(['tcp'], 2)
  const rtcBase = await freePortFor(['udp'], 20)
  const rtc: [number, number] = [rtcBase, rtcBase + 19]
  const admin = await freePort('tcp')
  const server = await startServerProcess({
    log: { level: 'info' },
    apps: [TEST_APP],
    sfu: { enabled: true, port, rtcPortRange: rtc, workers: 2, drainTimeoutMs: 5000 },
    cluster: { redis: redis.url, region: 'workers', heartbeatMs: 200, ttlMs: 1500 },
    admin: { host: '127.0.0.1', port: admin },
  })
  servers.push(server)
  return { server, port, rtc, admin }
}

/** Joins on `url` with a raw WebSocket and returns the media port of the server's first offer. */
async function offeredMediaPort(url: string, uid: number): Promise<number> {
  const token = await mintJoinToken({ ...TEST_APP, channel: 'w', uid, ttlSeconds: 60 })
  const ws = new WebSocket(url)
  try {
    const offer = await new Promise<string>((resolve, reject) => {
      ws.once('error', reject)
      ws.once('open', () =>
        ws.send(
          JSON.stringify({
            v: 1,
            type: 'join',
            token,
            channel: 'w',
            uid,
            capabilities: { audio: true, video: false },
          }),
        ),
      )
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; sdp?: string }
        if (message.type === 'offer') resolve(message.sdp!)
      })
    })
    const candidate = /a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+) typ host/i.exec(offer)
    expect(candidate, offer).not.toBeNull()
    return Number(candidate![1])
  } finally {
    ws.close()
  }
}

const workerLines = (server: ServerProcess): LogLine[] =>
  server.lines.filter((l) => l.msg === 'started' && l.pid !== server.pid)

describe('sfu.workers', () => {
  it('two nodes of their own: ports sfu.port + i, halves of rtcPortRange, two nodes in Redis; SIGTERM drains both, exit 0', async () => {
    const { server, port, rtc } = await twoWorkers()
    const workers = workerLines(server)
    expect(workers).toHaveLength(2)
    expect(new Set(workers.map((l) => l.pid)).size).toBe(2)
    const signals = workers.map((l) => (l['sfu'] as { signal: string }).signal).sort()
    expect(signals).toEqual([`ws://127.0.0.1:${port}/v1/signal`, `ws://127.0.0.1:${port + 1}/v1/signal`])

    const halves: [number, number][] = [
      [rtc[0], rtc[0] + 9],
      [rtc[0] + 10, rtc[1]],
    ]
    for (const [i, url] of signals.entries()) {
      const media = await offeredMediaPort(url, 10 + i)
      expect(media).toBeGreaterThanOrEqual(halves[i]![0])
      expect(media).toBeLessThanOrEqual(halves[i]![1])
    }

    const reader = await ClusterReader.connect(redis.url, createLogger('silent'))
    try {
      const nodes = (await reader.status()).nodes.filter((n) => n.region === 'workers')
      expect(nodes.map((n) => n.signalUrl).sort()).toEqual(signals)
      expect(new Set(nodes.map((n) => n.id)).size).toBe(2)

      // The parent alone is signalled (as `kill <pid>` would): it forwards the drain to both workers.
      process.kill(server.pid, 'SIGTERM')
      expect(await server.exit()).toBe(0)
      for (const worker of workers) {
        expect(server.lines.some((l) => l.msg === 'stopped' && l.pid === worker.pid)).toBe(true)
      }
      const left = (await reader.status()).nodes.filter((n) => n.region === 'workers')
      expect(left).toEqual([])
    } finally {
      await reader.close()
    }
  })

  it('a dead worker is logged and not restarted, /healthz turns 503; the last one gone ends the parent with 1', async () => {
    const { server, admin } = await twoWorkers()
    const [first, second] = workerLines(server)
    const health = async (): Promise<{
      status: number
      body: { details: { sfu: { workers: unknown[] } } }
    }> => {
      const res = await fetch(`http://127.0.0.1:${admin}/healthz`)
      return { status: res.status, body: (await res.json()) as never }
    }
    expect((await health()).status).toBe(200)

    process.kill(first!.pid!, 'SIGKILL')
    await server.line((l) => l.msg === 'conference worker died' && l['pid'] === first!.pid, 'the died line')
    const after = await health()
    expect(after.status).toBe(503)
    expect(after.body.details.sfu.workers).toContainEqual(
      expect.objectContaining({ pid: first!.pid, running: false }),
    )
    expect(after.body.details.sfu.workers).toContainEqual(
      expect.objectContaining({ pid: second!.pid, running: true }),
    )
    // Not restarted: still exactly the two workers it started.
    await sleep(1500)
    expect(workerLines(server)).toHaveLength(2)

    process.kill(second!.pid!, 'SIGKILL')
    expect(await server.exit()).toBe(1)
  })
})
