import { createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProxyApiErrorSchema, ProxySessionInfoSchema } from '../../shared/proxySession'
import { createHttpApp } from './httpApp'
import { buildSessionInfo, createSessionApiRoute, type SessionApiOptions } from './proxySessionRoute'
import { mintJoinToken } from '../../protocol/auth/joinToken'

const NOW = 1_750_000_000_000
const APP = { appKey: 'app-1', secret: 'app-1-secret-0123456789abcdef' }
const FINGERPRINT = Array.from({ length: 32 }, (_, i) =>
  (i * 7).toString(16).padStart(2, '0').toUpperCase(),
).join(':')

const options: SessionApiOptions = {
  apps: [APP, { appKey: 'app-2', secret: 'app-2-secret-0123456789abcdef' }],
  turnSecret: 'turn-secret',
  publicHost: '203.0.113.10',
  region: 'shanghai',
  ports: { udp: 3478, udpAlt: 7070, tcp: 443 },
  tlsFingerprintSha256: FINGERPRINT,
  credentialTtlSeconds: 600,
  maxBodyBytes: 4096,
  now: () => NOW,
}

const encode = (s: string): Uint8Array => new TextEncoder().encode(s)

function token(claims: Record<string, unknown>, secret = APP.secret, alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(encode(secret))
}

const valid = (): Promise<string> =>
  mintJoinToken({ ...APP, channel: 'room-1', uid: 42, ttlSeconds: 300, now: NOW })

describe('POST /v1/proxy/session', () => {
  let server: http.Server
  let base: string

  beforeAll(async () => {
    const app = createHttpApp({ routes: [createSessionApiRoute(options)] })
    server = http.createServer((req, res) => app.handleRequest(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  const post = (body: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${base}/v1/proxy/session`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    })

  it('answers a valid token with the session info, credentials derived from the TURN secret', async () => {
    const res = await post(JSON.stringify({ token: await valid() }))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const info = ProxySessionInfoSchema.parse(await res.json())
    const expiry = NOW / 1000 + 600
    expect(info).toEqual({
      version: 1,
      region: 'shanghai',
      serverTime: NOW,
      turn: {
        urls: [
          'turn:203.0.113.10:3478?transport=udp',
          'turn:203.0.113.10:7070?transport=udp',
          'turn:203.0.113.10:443?transport=tcp',
          'turns:203.0.113.10:443?transport=tcp',
        ],
        username: `${expiry}:app-1:42`,
        credential: createHmac('sha1', 'turn-secret').update(`${expiry}:app-1:42`).digest('base64'),
        ttlSeconds: 600,
        expiresAt: expiry * 1000,
      },
      signalUrl: 'wss://203.0.113.10:443/v1/signal',
      tls: { fingerprintSha256: FINGERPRINT },
    })
  })

  it('accepts the token as Authorization: Bearer with an empty body', async () => {
    const res = await fetch(`${base}/v1/proxy/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await valid()}` },
    })
    expect(res.status).toBe(200)
    expect(ProxySessionInfoSchema.parse(await res.json()).turn.username).toMatch(/:app-1:42$/)
  })

  it('accepts a numeric-string uid', async () => {
    const res = await post(
      JSON.stringify({
        token: await token({ appKey: 'app-1', channel: 'c', uid: '77', exp: NOW / 1000 + 60 }),
      }),
    )
    expect(res.status).toBe(200)
    expect(ProxySessionInfoSchema.parse(await res.json()).turn.username).toMatch(/:app-1:77$/)
  })

  const exp = NOW / 1000 + 60
  it.each([
    [
      'an expired token',
      () => token({ appKey: 'app-1', channel: 'c', uid: 1, exp: NOW / 1000 - 60 }),
      'token_expired',
    ],
    [
      'a token issued a minute in the future',
      () => token({ appKey: 'app-1', channel: 'c', uid: 1, iat: NOW / 1000 + 60, exp: NOW / 1000 + 600 }),
      'token_claims',
    ],
    ['a token that is not a JWT', async () => 'abc.def', 'token_malformed'],
    ['a token with a broken payload', async () => 'eyJhbGciOiJIUzI1NiJ9.!!!.sig', 'token_malformed'],
    [
      'a token signed with another secret',
      () => token({ appKey: 'app-1', channel: 'c', uid: 1, exp }, 'wrong-secret'),
      'token_invalid',
    ],
    [
      "a token signed with another app's secret",
      () => token({ appKey: 'app-2', channel: 'c', uid: 1, exp }),
      'token_invalid',
    ],
    ['a token of an unknown app', () => token({ appKey: 'nope', channel: 'c', uid: 1, exp }), 'app_unknown'],
    [
      'HS512 instead of HS256',
      () => token({ appKey: 'app-1', channel: 'c', uid: 1, exp }, APP.secret, 'HS512'),
      'token_invalid',
    ],
    [
      'an unsigned (alg none) token',
      async () => unsigned({ appKey: 'app-1', channel: 'c', uid: 1, exp }),
      'token_invalid',
    ],
    ['a token without uid', () => token({ appKey: 'app-1', channel: 'c', exp }), 'token_claims'],
    ['a token with uid 0', () => token({ appKey: 'app-1', channel: 'c', uid: 0, exp }), 'token_claims'],
    [
      'a token with a non-numeric uid',
      () => token({ appKey: 'app-1', channel: 'c', uid: 'bob', exp }),
      'token_claims',
    ],
    [
      'a token with a fractional uid',
      () => token({ appKey: 'app-1', channel: 'c', uid: 1.5, exp }),
      'token_claims',
    ],
    ['a token without channel', () => token({ appKey: 'app-1', uid: 1, exp }), 'token_claims'],
    ['a token without exp', () => token({ appKey: 'app-1', channel: 'c', uid: 1 }), 'token_claims'],
    ['a token without appKey', () => token({ channel: 'c', uid: 1, exp }), 'token_claims'],
  ])('rejects %s with 401 %s', async (_name, makeToken, code) => {
    const res = await post(JSON.stringify({ token: await makeToken() }))
    expect(res.status).toBe(401)
    expect(ProxyApiErrorSchema.parse(await res.json()).error.code).toBe(code)
  })

  it.each([
    ['no token at all', '', 401, 'token_missing'],
    ['a body that is not JSON', '{token:', 400, 'bad_request'],
    ['a body without token', '{"tok":"x"}', 400, 'bad_request'],
    ['a token that is not a string', '{"token":42}', 400, 'bad_request'],
  ])('answers %s with %i %s', async (_name, body, status, code) => {
    const res = await post(body)
    expect(res.status).toBe(status)
    expect(ProxyApiErrorSchema.parse(await res.json()).error.code).toBe(code)
  })

  it('answers a body over the limit with 413', async () => {
    const res = await post(JSON.stringify({ token: 'x'.repeat(5000) }))
    expect(res.status).toBe(413)
    expect(ProxyApiErrorSchema.parse(await res.json()).error.code).toBe('payload_too_large')
  })

  it('answers GET with 405 and Allow, and an unknown path with 404', async () => {
    const get = await fetch(`${base}/v1/proxy/session`)
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
    expect(ProxyApiErrorSchema.parse(await get.json()).error.code).toBe('method_not_allowed')
    const missing = await fetch(`${base}/v1/nothing-here`, { method: 'POST' })
    expect(missing.status).toBe(404)
    expect(ProxyApiErrorSchema.parse(await missing.json()).error.code).toBe('not_found')
  })
})

describe('buildSessionInfo', () => {
  it('brackets an IPv6 public host in every URL', () => {
    const info = buildSessionInfo(
      { ...options, publicHost: '2001:db8::10', ports: { udp: 3478, udpAlt: 7070, tcp: 8443 } },
      { appKey: 'app-1', uid: 5 },
      600,
      NOW,
    )
    expect(info.turn.urls).toEqual([
      'turn:[2001:db8::10]:3478?transport=udp',
      'turn:[2001:db8::10]:7070?transport=udp',
      'turn:[2001:db8::10]:8443?transport=tcp',
      'turns:[2001:db8::10]:8443?transport=tcp',
    ])
    expect(info.signalUrl).toBe('wss://[2001:db8::10]:8443/v1/signal')
    expect(ProxySessionInfoSchema.safeParse(info).success).toBe(true)
  })
})

function unsigned(claims: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`
}
