import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../platform/logger'
import { ProxyMetrics } from '../metrics'
import { makeTurnUsername, turnRestCredential } from '../../protocol/auth/turnRest'
import { StunClass } from '../../protocol/stun/constants'
import { TEST_TURN_SECRET, testProxyConfig } from '../../../e2e/support/proxyConfig'
import { TestTurnClient, type TestTransport } from '../../../e2e/support/turnClient'
import { ProxyWorkerPool } from './workerPool'

describe('ProxyWorkerPool: two worker processes on the same ports', () => {
  let pool: ProxyWorkerPool
  let metrics: ProxyMetrics
  let peer: UdpSocket

  beforeAll(async () => {
    metrics = new ProxyMetrics({ defaultMetrics: false })
    pool = await ProxyWorkerPool.start(
      testProxyConfig(),
      { logger: createLogger('silent'), metrics, logLevel: 'warn' },
      2,
    )
    peer = createSocket('udp4')
    peer.on('message', (data, rinfo) => peer.send(data, rinfo.port, rinfo.address))
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    peer.close()
    await pool.close()
  })

  const relayOnce = async (transport: TestTransport, port: number, uid: string): Promise<number> => {
    const username = makeTurnUsername(uid, 600, Date.now())
    const client = await TestTurnClient.connect(
      transport,
      '127.0.0.1',
      port,
      { username, password: turnRestCredential(TEST_TURN_SECRET, username) },
      { ca: pool.tlsCertificatePem },
    )
    try {
      const answer = await client.allocate()
      expect(answer.cls).toBe(StunClass.SuccessResponse)
      const peerAddress = { family: 4 as const, address: '127.0.0.1', port: peer.address().port }
      await client.channelBind(0x4000, peerAddress)
      client.sendChannel(0x4000, Buffer.from(uid))
      const back = await client.next()
      expect(back.data.toString()).toBe(uid)
      return client.relayed!.port
    } finally {
      client.close()
    }
  }

  it('serves every client whichever worker the kernel picks, on every transport', async () => {
    const { udp, tcp } = pool.addresses()
    const jobs: Promise<number>[] = []
    for (let i = 0; i < 12; i++) jobs.push(relayOnce('udp', udp[i % 2]!, `u${i}`))
    for (let i = 0; i < 4; i++) jobs.push(relayOnce(i % 2 ? 'tls' : 'tcp', tcp, `t${i}`))
    const relayPorts = await Promise.all(jobs)
    expect(new Set(relayPorts).size).toBe(relayPorts.length)
  })

  it('reports healthy workers and their summed counters', async () => {
    await expect.poll(() => metrics.snapshot().allocationsTotal, { timeout: 3000 }).toBe(16)
    expect(metrics.snapshot().packets.client_to_peer).toBeGreaterThanOrEqual(16)
    const health = pool.health()
    expect(health.ok).toBe(true)
    expect(health.details.workers).toHaveLength(2)
  })

  it('restarts a worker that dies', async () => {
    const workers = pool.health().details.workers as { pid: number }[]
    process.kill(workers[0]!.pid, 'SIGKILL')
    await expect
      .poll(
        () => {
          const h = pool.health()
          const pids = (h.details.workers as { pid: number }[]).map((w) => w.pid)
          return h.ok && pids.length === 2 && !pids.includes(workers[0]!.pid)
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(true)
    expect(await relayOnce('udp', pool.addresses().udp[0]!, 'after-restart')).toBeGreaterThan(0)
  })
})
