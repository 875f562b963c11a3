/**
 * Issue 15, step A (docs/protocol.md "TURN credentials"): a join token is a TURN credential too — USERNAME
 * = its `header.payload`, password = its signature — so the engine allocates before the session answer.
 * Attacked on real sockets against a real ProxyServer: a forged signature, another app's token (unknown to
 * this proxy, or signed with another app's secret), an expired token, uid 0, a garbage USERNAME and one
 * longer than STUN allows are each refused with the STUN error they call for, counted, and make no
 * allocation; an allocation the token made is not refreshed with it once the token expired, while the
 * session's REST credentials of the same user carry it on (another user's do not). The TURN clock is moved
 * (`now`), not waited for.
 */
import { createHmac } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  JOIN_TURN_PRESUMED_REALM,
  JOIN_TURN_TLS_NONCE,
  joinTurnCredentials,
} from '../../src/protocol/auth/joinTurn'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { makeTurnUsername, turnRestCredential } from '../../src/protocol/auth/turnRest'
import { Method, StunClass } from '../../src/protocol/stun/constants'
import { getAttr, type DecodedMessage } from '../../src/protocol/stun/message'
import { ProxyMetrics, ProxyServer } from '../../src/proxy'
import { createLogger } from '../../src/platform/logger'
import { TEST_APP, TEST_TURN_SECRET, testProxyConfig } from '../support/proxyConfig'
import { TestTurnClient, errorCodeOf } from '../support/turnClient'

const OTHER_APP = { appKey: 'other-app', secret: 'other-app-secret-0123456789' }
let server: ProxyServer
let metrics: ProxyMetrics
let skewMs = 0
const clients: TestTurnClient[] = []

beforeAll(async () => {
  metrics = new ProxyMetrics({ defaultMetrics: false })
  server = await ProxyServer.start(
    testProxyConfig(),
    { logger: createLogger('silent'), metrics },
    { now: () => Date.now() + skewMs },
  )
})
afterEach(() => {
  skewMs = 0
  for (const client of clients.splice(0)) client.close()
})
afterAll(() => server?.close())

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A token over any claims, signed with `secret` (the test app's unless given). */
function token(claims: Record<string, unknown>, secret = TEST_APP.secret): string {
  const now = Math.floor(Date.now() / 1000)
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ appKey: TEST_APP.appKey, channel: 'ch', uid: 7, iat: now, exp: now + 60, ...claims })}`
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`
}

async function client(username: string, password: string, transport: 'udp' | 'tcp' | 'tls' = 'udp') {
  const { udp, tcp } = server.addresses()
  const c = await TestTurnClient.connect(
    transport,
    '127.0.0.1',
    transport === 'udp' ? udp[0]! : tcp,
    {
      username,
      password,
    },
    { ca: server.tlsCertificatePem },
  )
  clients.push(c)
  return c
}

function fromToken(jwt: string): Promise<TestTurnClient> {
  const pair = joinTurnCredentials(jwt)!
  return client(pair.username, pair.credential)
}

const snapshot = () => metrics.snapshot()
const delta = (before: Record<string, number>, after: Record<string, number>, key: string): number =>
  (after[key] ?? 0) - (before[key] ?? 0)

/** Allocates with `c` (the 401 first, then authenticated) and checks the refusal: code, counted, nothing made. */
async function refused(c: TestTurnClient, code: number, reason?: string): Promise<DecodedMessage> {
  const before = snapshot()
  const answer = await c.allocate()
  const after = snapshot()
  expect(answer.cls).toBe(StunClass.ErrorResponse)
  expect(errorCodeOf(answer)).toBe(code)
  expect(delta(before.errors, after.errors, String(code))).toBeGreaterThanOrEqual(1)
  if (reason) expect(delta(before.authFailures, after.authFailures, reason)).toBe(1)
  expect(after.allocationsTotal).toBe(before.allocationsTotal)
  return answer
}

describe('join-token TURN credentials on the real proxy (issue 15)', () => {
  it('a token of this proxy’s app allocates, over UDP and TLS, for the user appKey:uid', async () => {
    for (const transport of ['udp', 'tls'] as const) {
      const pair = joinTurnCredentials(
        await mintJoinToken({ ...TEST_APP, channel: 'ch', uid: 7, ttlSeconds: 60 }),
      )!
      const c = await client(pair.username, pair.credential, transport)
      const before = snapshot().allocationsTotal
      const answer = await c.allocate()
      expect(answer.cls).toBe(StunClass.SuccessResponse)
      expect(snapshot().allocationsTotal).toBe(before + 1)
      expect((await c.refresh(0)).cls).toBe(StunClass.SuccessResponse)
    }
  })

  it('a forged signature: 401, bad-integrity', async () => {
    const real = token({})
    const pair = joinTurnCredentials(real)!
    const forged = pair.credential.slice(0, -2) + (pair.credential.endsWith('AA') ? 'BB' : 'AA')
    await refused(await client(pair.username, forged), 401, 'bad-integrity')
  })

  it('a token of an app this proxy does not know: 401, bad-username', async () => {
    await refused(await fromToken(token({ appKey: OTHER_APP.appKey }, OTHER_APP.secret)), 401, 'bad-username')
  })

  it('a token naming this proxy’s app but signed with another app’s secret: 401, bad-integrity', async () => {
    await refused(await fromToken(token({}, OTHER_APP.secret)), 401, 'bad-integrity')
  })

  it('an expired token (beyond the clock tolerance): 401, expired', async () => {
    const now = Math.floor(Date.now() / 1000)
    await refused(await fromToken(token({ iat: now - 120, exp: now - 60 })), 401, 'expired')
  })

  it('uid 0: 401, bad-username', async () => {
    await refused(await fromToken(token({ uid: 0 })), 401, 'bad-username')
  })

  it('a garbage USERNAME shaped like a token: 401, bad-username; one longer than STUN allows: 400', async () => {
    await refused(await client('eyJub3QtanNvbg.eyJhIjox', 'x'), 401, 'bad-username')
    await refused(await client(`eyJ${'a'.repeat(600)}.eyJ`, 'x'), 400)
  })

  it('over TLS a first Allocate with the token and no nonce of the proxy’s is granted, its answer bringing one', async () => {
    const pair = joinTurnCredentials(
      await mintJoinToken({ ...TEST_APP, channel: 'ch', uid: 10, ttlSeconds: 60 }),
    )!
    const c = await client(pair.username, pair.credential, 'tls')
    c.realm = JOIN_TURN_PRESUMED_REALM
    c.nonce = JOIN_TURN_TLS_NONCE
    const before = snapshot()
    const answer = await c.transact(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }])
    expect(answer.cls).toBe(StunClass.SuccessResponse)
    const nonce = getAttr(answer, 'NONCE')
    expect(nonce).toEqual(expect.any(String))
    expect(nonce).not.toBe(JOIN_TURN_TLS_NONCE)
    expect(c.nonce).toBe(nonce) // the client learnt it: the next request is authenticated with it
    const refresh = await c.transact(Method.Refresh, [{ name: 'LIFETIME', value: 600 }])
    expect(refresh.cls).toBe(StunClass.SuccessResponse)
    expect(delta(before.errors, snapshot().errors, '401')).toBe(0)
    expect(delta(before.errors, snapshot().errors, '438')).toBe(0)
    expect(snapshot().allocationsTotal).toBe(before.allocationsTotal + 1)
    expect((await c.transact(Method.Refresh, [{ name: 'LIFETIME', value: 0 }])).cls).toBe(
      StunClass.SuccessResponse,
    )
  })

  it('that nonce is stale anywhere else: over UDP, plain TCP, with REST credentials, on another request', async () => {
    const pair = joinTurnCredentials(
      await mintJoinToken({ ...TEST_APP, channel: 'ch', uid: 11, ttlSeconds: 60 }),
    )!
    const rest = makeTurnUsername(`${TEST_APP.appKey}:11`, 3600, Date.now())
    const cases: [string, string, 'udp' | 'tcp' | 'tls', number][] = [
      ['udp', pair.username, 'udp', Method.Allocate],
      ['tcp', pair.username, 'tcp', Method.Allocate],
      ['rest over tls', rest, 'tls', Method.Allocate],
      ['refresh over tls', pair.username, 'tls', Method.Refresh],
    ]
    for (const [name, username, transport, method] of cases) {
      const password = username === rest ? turnRestCredential(TEST_TURN_SECRET, rest) : pair.credential
      const c = await client(username, password, transport)
      c.realm = JOIN_TURN_PRESUMED_REALM
      c.nonce = JOIN_TURN_TLS_NONCE
      const before = snapshot()
      const attrs = method === Method.Allocate ? [{ name: 'REQUESTED_TRANSPORT' as const, value: 17 }] : []
      const answer = await c.transact(method, attrs)
      expect(errorCodeOf(answer), name).toBe(438)
      expect(delta(before.authFailures, snapshot().authFailures, 'stale-nonce'), name).toBe(1)
      expect(snapshot().allocationsTotal, name).toBe(before.allocationsTotal)
    }
  })

  it('over TLS without a nonce of the proxy’s, a forged signature is still refused: 401, bad-integrity', async () => {
    const pair = joinTurnCredentials(token({}, OTHER_APP.secret))!
    const c = await client(pair.username, pair.credential, 'tls')
    c.realm = JOIN_TURN_PRESUMED_REALM
    c.nonce = JOIN_TURN_TLS_NONCE
    const before = snapshot()
    const answer = await c.transact(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }])
    expect(errorCodeOf(answer)).toBe(401)
    expect(delta(before.authFailures, snapshot().authFailures, 'bad-integrity')).toBe(1)
    expect(snapshot().allocationsTotal).toBe(before.allocationsTotal)
  })

  it('an allocation the token made is not refreshed with it once the token expired; the session’s credentials of the same user carry it on', async () => {
    const jwt = await mintJoinToken({ ...TEST_APP, channel: 'ch', uid: 8, ttlSeconds: 30 })
    const c = await fromToken(jwt)
    expect((await c.allocate()).cls).toBe(StunClass.SuccessResponse)
    const pair = { username: c.username, password: c.password }
    skewMs = 60_000 // past exp + the 5 s tolerance, well within the allocation's lifetime
    const before = snapshot()
    // One transaction (refresh() would try again with the 401's fresh nonce, and be counted twice).
    const late = await c.transact(Method.Refresh, [{ name: 'LIFETIME', value: 600 }])
    expect(errorCodeOf(late)).toBe(401)
    expect(delta(before.authFailures, snapshot().authFailures, 'expired')).toBe(1)
    // Another user's REST credentials on this 5-tuple: 441.
    c.username = makeTurnUsername(`${TEST_APP.appKey}:9`, 3600, Date.now())
    c.password = turnRestCredential(TEST_TURN_SECRET, c.username)
    expect(errorCodeOf(await c.refresh(600))).toBe(441)
    // The same user's (what the engine hands werift from the session answer): accepted.
    c.username = makeTurnUsername(`${TEST_APP.appKey}:8`, 3600, Date.now())
    c.password = turnRestCredential(TEST_TURN_SECRET, c.username)
    expect((await c.refresh(600)).cls).toBe(StunClass.SuccessResponse)
    // And the token's once more: still expired.
    c.username = pair.username
    c.password = pair.password
    expect(errorCodeOf(await c.refresh(0))).toBe(401)
  })
})
