/** The proxy session over pinned TLS against a real proxy, and the whitelist check of its answer. */
import { createServer } from 'node:https'
import { connect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrGenerateCert } from '../../proxy'
import type { Region } from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import type { ProxySessionInfo } from '../../shared/proxySession'
import { requestProxySession, sessionEndpoints } from './proxySessionClient'
import {
  closedTcpPort,
  silentTcp,
  startProxyFixture,
  type ProxyFixture,
} from '../../../e2e/support/proxyFixture'
import { weriftTlsOptions } from './tlsPin'

const WRONG_PIN = Array.from({ length: 32 }, () => 'AB').join(':')

describe('requestProxySession against a real proxy', () => {
  let proxy: ProxyFixture

  beforeAll(async () => {
    proxy = await startProxyFixture()
  })
  afterAll(() => proxy.close())

  it('returns the validated answer, its endpoints by role and the certificate seen', async () => {
    const session = await requestProxySession(proxy.region, await proxy.token())
    const { udp, tcp } = proxy.region.ports
    expect(session.info.region).toBe('test')
    expect(session.endpoints).toEqual({
      udp: { url: `turn:127.0.0.1:${udp[0]}?transport=udp`, host: '127.0.0.1', port: udp[0] },
      udpAlt: { url: `turn:127.0.0.1:${udp[1]}?transport=udp`, host: '127.0.0.1', port: udp[1] },
      tcp: { url: `turn:127.0.0.1:${tcp}?transport=tcp`, host: '127.0.0.1', port: tcp },
      tls: { url: `turns:127.0.0.1:${tcp}?transport=tcp`, host: '127.0.0.1', port: tcp },
    })
    expect(session.fingerprintSha256).toBe(proxy.server.tlsFingerprint)
    expect(session.leafPem).toContain('BEGIN CERTIFICATE')
    expect(session.elapsedMs).toBeLessThan(2000)
  })

  it.each([
    ['expired', { ttlSeconds: -10 }, ErrorCode.ProxySessionTokenExpired, /401 token_expired/],
    [
      'signed with another secret',
      { secret: 'another-secret-0123456789' },
      ErrorCode.ProxySessionTokenInvalid,
      /token_invalid/,
    ],
  ])('a token %s is refused with its own code', async (_name, options, code, detail) => {
    const error = await requestProxySession(proxy.region, await proxy.token(options)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code })
    expect(error).toHaveProperty('detail', expect.stringMatching(detail))
  })

  it('a fingerprint mismatch fails before a single HTTP byte reaches the proxy', async () => {
    const before = proxy.metrics.snapshot().listenerEvents.https ?? 0
    const error = await requestProxySession({ ...proxy.region, tlsFingerprintSha256: WRONG_PIN }, 'x').catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: ErrorCode.TlsFingerprintMismatch })
    expect(error).toHaveProperty('detail', expect.stringContaining(`got ${proxy.server.tlsFingerprint}`))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(proxy.metrics.snapshot().listenerEvents.https ?? 0).toBe(before)
  })

  it('works with the CA instead of a fingerprint', async () => {
    const region: Region = {
      ...proxy.region,
      tlsFingerprintSha256: undefined,
      caPem: proxy.server.tlsCertificatePem,
    }
    const session = await requestProxySession(region, await proxy.token())
    expect(session.fingerprintSha256).toBe(proxy.server.tlsFingerprint)
  })

  it('refused at once is ProxyNotRunning, a name without DNS ProxyHostUnresolved, silent ProxyTlsUnreachable', async () => {
    const closed = await closedTcpPort()
    const refused = await requestProxySession(
      { ...proxy.region, ports: { ...proxy.region.ports, tcp: closed } },
      'x',
    ).catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: ErrorCode.ProxyNotRunning })
    const unresolved = await requestProxySession(
      { ...proxy.region, proxyHost: 'nonexistent.invalid' },
      'x',
    ).catch((e: unknown) => e)
    expect(unresolved).toMatchObject({ code: ErrorCode.ProxyHostUnresolved })
    const silent = await silentTcp()
    try {
      const error = await requestProxySession(
        { ...proxy.region, ports: { ...proxy.region.ports, tcp: silent.port } },
        'x',
        { timeoutMs: 200 },
      ).catch((e: unknown) => e)
      expect(error).toMatchObject({
        code: ErrorCode.ProxyTlsUnreachable,
        detail: expect.stringMatching(/200 ms/),
      })
    } finally {
      await silent.close()
    }
  })

  it("werift's turnTlsOptions pin the same certificate (tls.connect, as werift calls it)", async () => {
    const session = await requestProxySession(proxy.region, await proxy.token())
    const tryConnect = (pin: { fingerprintSha256?: string; caPem?: string }): Promise<string> =>
      new Promise((resolve) => {
        const options = weriftTlsOptions('127.0.0.1', pin, session.leafPem)
        const socket = connect({
          ...options,
          host: '127.0.0.1',
          port: proxy.region.ports.tcp,
          ALPNProtocols: ['stun.turn'],
        })
        socket.once('secureConnect', () => {
          socket.destroy()
          resolve('ok')
        })
        socket.once('error', (error) => resolve(error.message))
      })
    expect(await tryConnect({ fingerprintSha256: session.fingerprintSha256.toLowerCase() })).toBe('ok')
    expect(await tryConnect({ caPem: proxy.server.tlsCertificatePem })).toBe('ok')
    expect(await tryConnect({ fingerprintSha256: WRONG_PIN })).toMatch(/is not the pinned/)
  })
})

describe('a proxy answer that is not usable', () => {
  it('a 200 with the wrong shape is ProxySessionBadAnswer; a non-proxy 404 is ProxySessionApiUnreachable', async () => {
    const cert = await loadOrGenerateCert({ commonName: '127.0.0.1', altNames: ['127.0.0.1'] })
    const server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      res.writeHead(req.url === '/v1/proxy/session' ? 200 : 404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ version: 1, region: 'x' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const region: Region = {
      id: 'fake',
      name: 'Fake',
      proxyHost: '127.0.0.1',
      ports: { udp: [1, 2], tcp: port },
      tlsFingerprintSha256: cert.fingerprintSha256,
    }
    try {
      const error = await requestProxySession(region, 'x').catch((e: unknown) => e)
      expect(error).toMatchObject({
        code: ErrorCode.ProxySessionBadAnswer,
        detail: expect.stringMatching(/turn/),
      })
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('sessionEndpoints: the answer must stay on the region whitelist', () => {
  const region: Region = {
    id: 'sh',
    name: 'Shanghai',
    proxyHost: '203.0.113.10',
    ports: { udp: [3478, 7070], tcp: 443 },
  }
  const answer = (urls: string[], signalUrl = 'wss://203.0.113.10:443/v1/signal'): ProxySessionInfo => ({
    version: 1,
    region: 'sh',
    serverTime: 0,
    turn: { urls, username: '1:42', credential: 'c', ttlSeconds: 60, expiresAt: 1000 },
    signalUrl,
    tls: { fingerprintSha256: WRONG_PIN },
  })

  it('maps the standard four URLs (default ports included) to their roles', () => {
    const endpoints = sessionEndpoints(
      answer([
        'turn:203.0.113.10?transport=udp',
        'turn:203.0.113.10:7070?transport=udp',
        'turn:203.0.113.10:443?transport=tcp',
        'turns:203.0.113.10:443?transport=tcp',
      ]),
      region,
    )
    expect(Object.keys(endpoints)).toEqual(['udp', 'udpAlt', 'tcp', 'tls'])
    expect(endpoints.udp?.port).toBe(3478)
  })

  it('a proxy offering only 3478 leaves the alternate role absent', () => {
    expect(sessionEndpoints(answer(['turn:203.0.113.10:3478?transport=udp']), region)).not.toHaveProperty(
      'udpAlt',
    )
  })

  it.each([
    ['another host', ['turn:198.51.100.1:3478?transport=udp'], undefined],
    ['a port off the whitelist', ['turn:203.0.113.10:3479?transport=udp'], undefined],
    ['TLS on a UDP port', ['turns:203.0.113.10:3478?transport=tcp'], undefined],
    ['signaling elsewhere', ['turn:203.0.113.10:3478?transport=udp'], 'wss://signal.example.com/v1/signal'],
    [
      'signaling on another port',
      ['turn:203.0.113.10:3478?transport=udp'],
      'wss://203.0.113.10:8443/v1/signal',
    ],
  ])('refuses %s', (_name, urls, signalUrl) => {
    expect(() => sessionEndpoints(answer(urls, signalUrl), region)).toThrow(
      expect.objectContaining({ code: ErrorCode.ProxySessionOffWhitelist }),
    )
  })
})
