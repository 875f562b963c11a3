/**
 * Issue 10 item 1, the proxy's share: with two apps configured, the TURN credentials a session hands out
 * name the app as well as the uid, so the per-user allocation quota of app `other`'s uid 1 is not app
 * `local`'s uid 1's: one tenant cannot use up another's relays by picking the same uid.
 */
import { request } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProxySessionInfoSchema, type ProxySessionInfo } from '../shared/proxySession'
import { createLogger } from '../platform/logger'
import { ProxyMetrics } from './metrics'
import { mintJoinToken } from '../protocol/auth/joinToken'
import { ProxyServer } from './proxyServer'
import { StunClass } from '../protocol/stun/constants'
import { testProxyConfig } from '../../e2e/support/proxyConfig'
import { TestTurnClient, errorCodeOf } from '../../e2e/support/turnClient'

const LOCAL = { appKey: 'local', secret: 'local-secret-0123456789abcdef' }
const OTHER = { appKey: 'other', secret: 'other-secret-0123456789abcdef' }

describe('ProxyServer with two apps', () => {
  let server: ProxyServer
  const clients: TestTurnClient[] = []

  beforeAll(async () => {
    const config = testProxyConfig({ apps: [LOCAL, OTHER], proxy: { allocations: { perUser: 2 } } })
    server = await ProxyServer.start(config, {
      logger: createLogger('silent'),
      metrics: new ProxyMetrics({ defaultMetrics: false }),
    })
  })
  afterAll(async () => {
    clients.forEach((c) => c.close())
    await server.close()
  })

  /** `POST /v1/proxy/session` over HTTPS with a token of `app` for channel "board". */
  async function session(app: typeof LOCAL, uid: number): Promise<ProxySessionInfo> {
    const token = await mintJoinToken({ ...app, channel: 'board', uid, ttlSeconds: 60 })
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.addresses().tcp,
          path: '/v1/proxy/session',
          method: 'POST',
          ca: server.tlsCertificatePem,
          servername: 'localhost',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => (body += chunk.toString()))
          res.on('end', () => resolve(body))
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify({ token }))
    })
    return ProxySessionInfoSchema.parse(JSON.parse(text))
  }

  /** One UDP allocation with the session's credentials: 'ok' or the error code. */
  async function allocate(info: ProxySessionInfo): Promise<'ok' | number | undefined> {
    const client = await TestTurnClient.connect('udp', '127.0.0.1', server.addresses().udp[0]!, {
      username: info.turn.username,
      password: info.turn.credential,
    })
    clients.push(client)
    const answer = await client.allocate()
    return answer.cls === StunClass.SuccessResponse ? 'ok' : errorCodeOf(answer)
  }

  it("app other's uid 1 using up its allocations leaves app local's uid 1 its own", async () => {
    const other = await session(OTHER, 1)
    const local = await session(LOCAL, 1)

    // other's uid 1 takes its quota (2), and a third is refused: the quota is real.
    expect([await allocate(other), await allocate(other), await allocate(other)]).toEqual(['ok', 'ok', 486])
    // local's uid 1 is another user.
    expect([await allocate(local), await allocate(local)]).toEqual(['ok', 'ok'])
    expect(local.turn.username).toMatch(/^\d+:local:1$/)
  })
})
