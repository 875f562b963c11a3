/**
 * A conference node in Redis (issue 14 items 1 and 4, docs/scaling.md), every part real: a redis-server, a
 * `pinhole-server start` process with `sfu.enabled` and `cluster.redis`, two werift clients in a call on
 * it, and the `pinhole-server cluster status` command as its own process. The node registers with the port
 * it really listens on, heartbeats the call's load and holds its channel; a Redis restart mid-call loses
 * nothing; SIGTERM marks it draining at once while the call goes on; Redis down fails the start by name.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClusterReader, type ClusterStatus } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { TestClient } from '../sfu/client'
import { startRedis, type RedisServer } from '../support/redisServer'
import { freePort, waitFor } from '../support/tools'
import { startServerProcess, type ServerProcess } from '../support/serverProcess'

const APP = { appKey: 'test-app', secret: 'test-app-secret-0123456789' }
const CHANNEL = 'standup'

function nodeConfig(redisUrl: string, nodeId = 'node-a'): Record<string, unknown> {
  return {
    log: { level: 'info' },
    apps: [APP],
    sfu: { enabled: true, port: 0, workers: 1, drainTimeoutMs: 120_000 },
    admin: { host: '127.0.0.1', port: 0 },
    // The move after SIGTERM is out of this file's scope (e2e/cluster/drain.test.ts): far away.
    cluster: {
      redis: redisUrl,
      region: 'east',
      nodeId,
      heartbeatMs: 200,
      ttlMs: 1000,
      drainMoveAfterMs: 600_000,
    },
  }
}

/** `pinhole-server <args>` as its own process: exit code and output. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/server/cli.ts', ...args],
      { cwd: process.cwd(), timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

function videoPackets(client: TestClient, fromUid: number): number {
  return client.received.get(`${fromUid}:video`)?.packets ?? 0
}

describe('a conference node in Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-node-test-'))
  const configFile = join(dir, 'server.json')
  let redis: RedisServer
  let reader: ClusterReader
  let node: ServerProcess
  let port: number
  const clients: TestClient[] = []

  beforeAll(async () => {
    redis = await startRedis()
    reader = await ClusterReader.connect(redis.url, createLogger('silent'))
    writeFileSync(configFile, JSON.stringify(nodeConfig(redis.url)))
    node = await startServerProcess(nodeConfig(redis.url))
    const started = node.lines.find((l) => l.msg === 'started') as { sfu?: { signal?: string } }
    port = Number(new URL(started.sfu?.signal ?? '').port)
    const url = `ws://127.0.0.1:${port}/v1/signal`
    for (const uid of [1, 2]) {
      const token = await mintJoinToken({ ...APP, channel: CHANNEL, uid, ttlSeconds: 600 })
      clients.push(await TestClient.join({ url, token, channel: CHANNEL, uid }, 15_000))
    }
    for (const client of clients) client.startMedia()
    await waitFor(
      () => videoPackets(clients[0]!, 2) > 0 && videoPackets(clients[1]!, 1) > 0,
      'video both ways',
      15_000,
    )
    // An upper bound: a cold server process and two werift joins take long on a loaded machine.
  }, 120_000)
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await node?.stop()
    await reader?.close()
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('registers with the port it listens on; the call’s load and channel show in Redis and cluster status', async () => {
    await waitFor(
      async () => {
        const status = await reader.node('node-a')
        return (
          status?.load.participants === 2 && status.load.packetsPerSecond > 0 && status.channels.length === 1
        )
      },
      'the call in the node’s heartbeat',
      10_000,
    )
    expect(await reader.holder({ appKey: APP.appKey, name: CHANNEL })).toBe('node-a')

    // Both at once: each is a cold Node process with tsx, seconds on a busy machine.
    const [json, text] = await Promise.all([
      cli(['cluster', 'status', '--config', configFile, '--json']),
      cli(['cluster', 'status', '--config', configFile]),
    ])
    expect(json.code, json.stderr).toBe(0)
    const status = JSON.parse(json.stdout) as ClusterStatus
    expect(status.nodes).toHaveLength(1)
    expect(status.nodes[0]).toMatchObject({
      id: 'node-a',
      region: 'east',
      signalUrl: `ws://127.0.0.1:${port}/v1/signal`,
      mediaAddress: '127.0.0.1',
      draining: false,
      full: false,
      load: { participants: 2, channels: 1 },
      channels: [{ appKey: APP.appKey, name: CHANNEL }],
    })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^NODE\s+REGION\s+SIGNAL\s+STATE\s+PARTICIPANTS/)
    expect(text.stdout).toMatch(
      new RegExp(`node-a\\s+east\\s+ws://127\\.0\\.0\\.1:${port}/v1/signal\\s+ok\\s+2\\s+1\\s`),
    )
    expect(text.stdout).toContain(`channels: ${APP.appKey}/${CHANNEL}`)
  })

  it('Redis restarted mid-call: the node and its channel come back, the call goes on', async () => {
    await redis.restart()
    const before = clients.map((c, i) => videoPackets(c, i === 0 ? 2 : 1))

    await waitFor(async () => (await reader.node('node-a')) !== undefined, 'the node re-registered', 5000)
    await waitFor(
      async () => (await reader.holder({ appKey: APP.appKey, name: CHANNEL })) === 'node-a',
      'the channel re-claimed',
      5000,
    )
    await waitFor(
      () => clients.every((c, i) => videoPackets(c, i === 0 ? 2 : 1) > before[i]! + 50),
      'video still flowing both ways',
      10_000,
    )
    expect(clients.map((c) => c.closeCode)).toEqual([undefined, undefined])
  })

  it('SIGTERM: draining in Redis at once while the call goes on; deregistered once it ends', async () => {
    node.child.kill('SIGTERM')
    await waitFor(
      async () => (await reader.node('node-a'))?.draining === true,
      'the node marked draining',
      3000,
    )
    const before = videoPackets(clients[0]!, 2)
    await waitFor(
      () => videoPackets(clients[0]!, 2) > before + 50,
      'the call going on while draining',
      10_000,
    )

    // A leave, not a dropped socket: no reconnect grace to wait out.
    for (const client of clients) client.leave()
    await Promise.all(clients.splice(0).map((c) => c.close()))
    expect(await node.exit()).toBe(0)
    expect(await reader.node('node-a')).toBeUndefined()
    expect((await reader.status()).nodes).toEqual([])
  })
})

describe('Redis unreachable', () => {
  it('a node refuses to start, naming cluster.redis; cluster status exits 1 naming it too', async () => {
    const port = await freePort('tcp')
    const dir = mkdtempSync(join(tmpdir(), 'pinhole-node-test-'))
    const file = join(dir, 'server.json')
    writeFileSync(file, JSON.stringify(nodeConfig(`redis://127.0.0.1:${port}`)))
    try {
      const [start, status] = await Promise.all([
        cli(['start', '--config', file]),
        cli(['cluster', 'status', '--config', file]),
      ])
      expect(start.code).toBe(1)
      expect(start.stdout).toContain(`cluster.redis: cannot reach Redis at redis://127.0.0.1:${port}`)
      expect(status.code).toBe(1)
      expect(status.stderr).toContain(`cluster.redis: cannot reach Redis at redis://127.0.0.1:${port}`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
