/**
 * Connection slots with the real TURN core: a TURN-over-TCP/TLS connection whose Allocate authenticated
 * leaves the unauthenticated share, so it does not count against its address's allowance.
 */
import { request } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../platform/logger'
import { ProxyMetrics } from './metrics'
import { mintJoinToken } from '../protocol/auth/joinToken'
import { makeTurnUsername, turnRestCredential } from '../protocol/auth/turnRest'
import { ProxyServer } from './proxyServer'
import { StunClass } from '../protocol/stun/constants'
import { TEST_APP, TEST_TURN_SECRET, testProxyConfig } from '../../e2e/support/proxyConfig'
import { TestTurnClient } from '../../e2e/support/turnClient'

function sessionStatus(server: ProxyServer, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.addresses().tcp,
        path: '/v1/proxy/session',
        method: 'POST',
        ca: server.tlsCertificatePem,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ token }))
  })
}

describe('ProxyServer connection slots', () => {
  let server: ProxyServer
  let metrics: ProxyMetrics

  beforeAll(async () => {
    metrics = new ProxyMetrics({ defaultMetrics: false })
    server = await ProxyServer.start(testProxyConfig({ proxy: { limits: { unauthenticatedPerIp: 1 } } }), {
      logger: createLogger('silent'),
      metrics,
    })
  })
  afterAll(() => server.close())

  it.each(['tcp', 'tls'] as const)(
    'moves a TURN-over-%s connection whose Allocate authenticated out of the per-IP allowance',
    async (transport) => {
      // The previous case's HTTPS connection must be gone: the allowance is one.
      await expect.poll(() => metrics.snapshot().connections.tcp443_unauthenticated ?? 0).toBe(0)
      const username = makeTurnUsername(`${TEST_APP.appKey}:9`, 600, Date.now())
      const credentials = { username, password: turnRestCredential(TEST_TURN_SECRET, username) }
      const client = await TestTurnClient.connect(
        transport,
        '127.0.0.1',
        server.addresses().tcp,
        credentials,
        {
          ca: server.tlsCertificatePem,
        },
      )
      try {
        expect((await client.allocate()).cls).toBe(StunClass.SuccessResponse)
        await expect.poll(() => metrics.snapshot().connections.tcp443_unauthenticated).toBe(0)
        // The allowance of one is free again: this address still gets its session.
        const token = await mintJoinToken({ ...TEST_APP, channel: 'c', uid: 9, ttlSeconds: 60 })
        expect(await sessionStatus(server, token)).toBe(200)
        expect(metrics.snapshot().connectionsRefused.unauthenticated_per_ip ?? 0).toBe(0)
      } finally {
        client.close()
      }
    },
  )
})
