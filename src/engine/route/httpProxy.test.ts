/** The corporate HTTP CONNECT proxy (issue 6): URL parsing, the tunnel's errors, the pin end to end. */
import { createServer } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrGenerateCert } from '../../proxy'
import { ErrorCode } from '../../shared/errors'
import { runDoctor } from './doctor'
import { connectViaHttpProxy, parseHttpProxyUrl, type HttpProxyConfig } from './httpProxy'
import { probeTls } from './probe'
import { requestProxySession } from './proxySessionClient'
import { startConnectProxy, type ConnectProxy } from '../../../e2e/support/connectProxy'
import { closedTcpPort, startProxyFixture, type ProxyFixture } from '../../../e2e/support/proxyFixture'

describe('parseHttpProxyUrl', () => {
  it.each<[string, HttpProxyConfig]>([
    ['http://proxy.corp:3128', { host: 'proxy.corp', port: 3128 }],
    ['http://10.0.0.1', { host: '10.0.0.1', port: 80 }],
    [
      'http://alice:s%40cret@proxy:8080',
      { host: 'proxy', port: 8080, username: 'alice', password: 's@cret' },
    ],
    ['http://[::1]:3128/', { host: '::1', port: 3128 }],
  ])('%s', (url, expected) => {
    expect(parseHttpProxyUrl(url)).toEqual(expected)
  })

  it.each(['proxy:3128', 'https://proxy:3128', 'socks5://proxy:1080', 'http://proxy:3128/path'])(
    'refuses %s',
    (url) => {
      expect(() => parseHttpProxyUrl(url)).toThrow(RangeError)
    },
  )
})

describe('through a CONNECT proxy on loopback', () => {
  let fixture: ProxyFixture
  let open: ConnectProxy
  let authed: ConnectProxy
  let refusing: ConnectProxy
  let tinyproxyLike: ConnectProxy
  const user = { username: 'alice', password: 'secret' }
  beforeAll(async () => {
    fixture = await startProxyFixture('sh')
    open = await startConnectProxy()
    authed = await startConnectProxy({ user })
    refusing = await startConnectProxy({ refuse: () => 403 })
    tinyproxyLike = await startConnectProxy({ user, wrongCredentialsStatus: 401 })
  })
  afterAll(async () => {
    await Promise.allSettled([
      fixture.close(),
      open.close(),
      authed.close(),
      refusing.close(),
      tinyproxyLike.close(),
    ])
  })
  const via = (proxy: ConnectProxy, extra: Partial<HttpProxyConfig> = {}): HttpProxyConfig => ({
    host: '127.0.0.1',
    port: proxy.port,
    ...extra,
  })

  it('the session request goes through the tunnel, pinned end to end', async () => {
    const before = open.requests.length
    const session = await requestProxySession(fixture.region, await fixture.token(), { httpProxy: via(open) })
    expect(session.fingerprintSha256).toBe(fixture.region.tlsFingerprintSha256)
    expect(open.requests.slice(before)).toEqual([`127.0.0.1:${fixture.region.ports.tcp}`])
  })

  it('basic auth: with the right credentials it works', async () => {
    const session = await requestProxySession(fixture.region, await fixture.token(), {
      httpProxy: via(authed, user),
    })
    expect(session.info.turn.username).toMatch(/:42$/)
  })

  it.each<[string, () => HttpProxyConfig, number]>([
    ['407 without credentials: HttpProxyAuthRequired', () => via(authed), ErrorCode.HttpProxyAuthRequired],
    [
      '407 with wrong credentials: HttpProxyAuthRefused',
      () => via(authed, { username: 'alice', password: 'wrong' }),
      ErrorCode.HttpProxyAuthRefused,
    ],
    [
      '401 to wrong credentials (as tinyproxy answers): HttpProxyAuthRefused',
      () => via(tinyproxyLike, { username: 'alice', password: 'wrong' }),
      ErrorCode.HttpProxyAuthRefused,
    ],
    ['403: HttpProxyConnectRefused', () => via(refusing), ErrorCode.HttpProxyConnectRefused],
  ])('%s', async (_name, proxy, code) => {
    const error = await requestProxySession(fixture.region, await fixture.token(), {
      httpProxy: proxy(),
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code, detail: expect.stringContaining(`127.0.0.1:${proxy().port}`) })
    // The credentials never appear in what is reported.
    expect(JSON.stringify(error)).not.toContain('wrong')
  })

  it('the proxy unreachable: HttpProxyUnreachable', async () => {
    const port = await closedTcpPort()
    await expect(
      connectViaHttpProxy({ host: '127.0.0.1', port }, '127.0.0.1', 443, { timeoutMs: 2000 }),
    ).rejects.toMatchObject({ code: ErrorCode.HttpProxyUnreachable })
  })

  it('a proxy that intercepts TLS (tunnels to another server) is TlsFingerprintMismatch', async () => {
    const cert = await loadOrGenerateCert({ commonName: '127.0.0.1', altNames: ['127.0.0.1'] })
    const impostor = createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('{}'))
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve))
    const address = impostor.address()
    const impostorPort = typeof address === 'object' && address ? address.port : 0
    const intercepting = await startConnectProxy({ redirect: (host) => ({ host, port: impostorPort }) })
    try {
      const error = await requestProxySession(fixture.region, await fixture.token(), {
        httpProxy: via(intercepting),
      }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: ErrorCode.TlsFingerprintMismatch })
      const check = await probeTls(fixture.region, { httpProxy: via(intercepting) })
      expect(check).toMatchObject({ status: 'error', errorCode: ErrorCode.TlsFingerprintMismatch })
    } finally {
      await intercepting.close()
      impostor.close()
    }
  })

  it('the doctor: a proxy that refuses CONNECT gets the rule for the proxy, UDP checks go direct', async () => {
    const rows = await runDoctor(fixture.region, { httpProxy: via(refusing) })
    const byEndpoint = Object.fromEntries(rows.map((row) => [row.endpoint, row]))
    expect(byEndpoint.udp?.status).toBe('reachable')
    expect(byEndpoint.tls).toMatchObject({
      status: 'error',
      errorCode: ErrorCode.HttpProxyConnectRefused,
      // firewallRule()'s words (src/shared/networkCheck.ts), as the app's network check says it.
      rule: `allow HTTP CONNECT through the corporate proxy 127.0.0.1:${refusing.port} to 127.0.0.1 port ${fixture.region.ports.tcp}`,
    })
    expect(byEndpoint.udp).not.toHaveProperty('rule')
  })

  it('the doctor-style TLS probe through the proxy is reachable and says so', async () => {
    const check = await probeTls(fixture.region, { httpProxy: via(open) })
    expect(check.status).toBe('reachable')
    expect(check.check).toBe(`TLS ${fixture.region.ports.tcp} via HTTP proxy 127.0.0.1:${open.port}`)
  })
})
