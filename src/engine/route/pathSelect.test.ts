/** Transport selection: loopback against a real proxy, and budgets with a fake clock. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Region, TransportAttempt } from '../../shared/engine'
import { TransportType } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { requestProxySession, type ProxySession, type TurnEndpoint } from './proxySessionClient'
import { FakeClock } from '../../../e2e/support/fakeClock'
import {
  closedTcpPort,
  closedUdpPort,
  silentUdp,
  startProxyFixture,
  type Listener,
  type ProxyFixture,
} from '../../../e2e/support/proxyFixture'
import { selectTransport, type AllocateFn, type ProxyTarget } from './pathSelect'
import { allocateTurn, type TurnAllocation } from './turnProbe'

const FAST = { directMs: 300, udpMs: 300, tlsMs: 1000 }
const outcomes = (attempts: TransportAttempt[]): string[] =>
  attempts.map((a) => `${a.transport}:${a.outcome}`)

async function drained(proxy: ProxyFixture): Promise<number> {
  for (let i = 0; i < 50 && proxy.allocations() > 0; i++) await new Promise((r) => setTimeout(r, 10))
  return proxy.allocations()
}

describe('selectTransport against a real proxy', () => {
  let proxy: ProxyFixture
  let session: ProxySession
  let closedUdp: number
  let quiet: Listener

  beforeAll(async () => {
    proxy = await startProxyFixture()
    session = await requestProxySession(proxy.region, await proxy.token())
    ;[closedUdp, quiet] = await Promise.all([closedUdpPort(), silentUdp()])
  })
  afterAll(async () => {
    await Promise.all([proxy.close(), quiet.close()])
  })

  /** The real session with some UDP endpoints pointed elsewhere (what a firewall makes of them). */
  const target = (udp: Partial<Record<'udp' | 'udpAlt', number>> = {}): ProxyTarget => {
    const endpoints = { ...session.endpoints }
    for (const [role, port] of Object.entries(udp) as ['udp' | 'udpAlt', number][]) {
      endpoints[role] = { url: `turn:127.0.0.1:${port}?transport=udp`, host: '127.0.0.1', port }
    }
    return { region: proxy.region, session: { ...session, endpoints } }
  }

  it('UDP proxy: races both ports, hands werift exactly one relay URL and the winning allocation, releases the other', async () => {
    const selection = await selectTransport({ mode: TransportType.UDPProxy, proxy: target(), budgets: FAST })
    expect(selection.transport).toBe('udp')
    expect(outcomes(selection.attempts).sort()).toEqual(['udp:lost', 'udp:won'])
    const won = [session.endpoints.udp!, session.endpoints.udpAlt!].find(
      (e: TurnEndpoint) => selection.target === `127.0.0.1:${e.port}`,
    )!
    expect(selection.rtcConfig).toEqual({
      iceServers: [
        { urls: won.url, username: session.info.turn.username, credential: session.info.turn.credential },
      ],
      iceTransportPolicy: 'relay',
      bundlePolicy: 'max-bundle',
    })
    expect(selection.signalUrl).toBe(session.info.signalUrl)
    expect(selection.elapsedMs).toBeLessThan(1000)
    await selection.released
    // The winner's allocation stays for werift (relayHandover.ts) until taken or discarded.
    expect(await drained(proxy)).toBe(1)
    expect(await selection.relay?.discard()).toBe(true)
    expect(await drained(proxy)).toBe(0)
  })

  it('UDP proxy with 3478 closed: 7070 wins', async () => {
    const selection = await selectTransport({
      mode: TransportType.UDPProxy,
      proxy: target({ udp: closedUdp }),
      budgets: FAST,
    })
    expect(selection.target).toBe(`127.0.0.1:${proxy.region.ports.udp[1]}`)
    expect(selection.attempts).toEqual([
      expect.objectContaining({
        target: `127.0.0.1:${closedUdp}`,
        outcome: 'failed',
        detail: expect.stringMatching(/port closed/),
      }),
      expect.objectContaining({ outcome: 'won' }),
    ])
    await selection.released
    await selection.relay?.discard()
  })

  it('UDP proxy with both UDP ports dropped: ProxyUdpUnreachable at the budget, no TLS fallback', async () => {
    const started = performance.now()
    const error = await selectTransport({
      mode: TransportType.UDPProxy,
      proxy: target({ udp: quiet.port, udpAlt: quiet.port }),
      budgets: FAST,
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCode.ProxyUdpUnreachable })
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    expect(performance.now() - started).toBeLessThan(1500)
  })

  it('Auto with UDP blocked: falls through to TLS 443 and pins it for werift', async () => {
    const selection = await selectTransport({
      mode: TransportType.Auto,
      proxy: target({ udp: closedUdp, udpAlt: closedUdp }),
      budgets: FAST,
    })
    expect(selection.transport).toBe('tls')
    expect(outcomes(selection.attempts)).toEqual(['direct:skipped', 'udp:failed', 'udp:failed', 'tls:won'])
    expect(selection.rtcConfig.iceServers).toEqual([
      expect.objectContaining({ urls: session.endpoints.tls!.url }),
    ])
    expect(selection.rtcConfig.iceTransportPolicy).toBe('relay')
    expect(selection.rtcConfig.turnTlsOptions).toMatchObject({
      ca: session.leafPem,
      allowPartialTrustChain: true,
    })
    await selection.released
    // The TLS allocation is offered to werift (step T2); a join that does not take it releases it.
    expect(await selection.relay?.discard()).toBe(true)
    expect(await drained(proxy)).toBe(0)
  })

  it('TCP proxy: TLS 443 only, nothing sent to the UDP ports', async () => {
    const selection = await selectTransport({ mode: TransportType.TCPProxy, proxy: target(), budgets: FAST })
    expect(outcomes(selection.attempts)).toEqual(['tls:won'])
    expect(selection.turn?.url).toMatch(/^turns:127\.0\.0\.1:\d+\?transport=tcp$/)
    await selection.released
  })

  it('TCP proxy with a certificate other than the one the session saw: TlsFingerprintMismatch', async () => {
    const other = { ...session, fingerprintSha256: Array.from({ length: 32 }, () => '0F').join(':') }
    const error = await selectTransport({
      mode: TransportType.TCPProxy,
      proxy: { region: proxy.region, session: other },
      budgets: FAST,
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: ErrorCode.TlsFingerprintMismatch })
  })

  it('Auto with a reachable direct server never contacts the proxy', async () => {
    const getProxy = vi.fn(() => Promise.resolve(target()))
    const selection = await selectTransport({
      mode: TransportType.Auto,
      proxy: getProxy,
      direct: { signalUrl: `ws://127.0.0.1:${proxy.region.ports.tcp}/v1/signal` },
      budgets: FAST,
    })
    expect(selection.transport).toBe('direct')
    expect(selection.rtcConfig.iceTransportPolicy).toBe('all')
    expect(getProxy).not.toHaveBeenCalled()
  })

  it('Auto with the direct server refused goes on to the UDP race', async () => {
    const closed = await closedTcpPort()
    const selection = await selectTransport({
      mode: TransportType.Auto,
      proxy: () => Promise.resolve(target()),
      direct: { signalUrl: `ws://127.0.0.1:${closed}/v1/signal` },
      budgets: FAST,
    })
    expect(selection.transport).toBe('udp')
    expect(selection.attempts[0]).toMatchObject({ transport: 'direct', outcome: 'failed' })
    await selection.released
    await selection.relay?.discard()
  })

  it('a refused session ends the selection with its own code (no stage can do better)', async () => {
    const refused = new EngineError(ErrorCode.ProxySessionTokenExpired, 'test')
    const error = await selectTransport({
      mode: TransportType.Auto,
      proxy: () => Promise.reject(refused),
      budgets: FAST,
    }).catch((e: unknown) => e)
    expect(error).toBe(refused)
  })

  it('mode None without a direct server is DirectNotConfigured', async () => {
    await expect(selectTransport({ mode: TransportType.None })).rejects.toMatchObject({
      code: ErrorCode.DirectNotConfigured,
    })
  })
})

describe('allocateTurn (the production TURN probe) against a real proxy', () => {
  let proxy: ProxyFixture
  let session: ProxySession

  beforeAll(async () => {
    proxy = await startProxyFixture()
    session = await requestProxySession(proxy.region, await proxy.token())
  })
  afterAll(() => proxy.close())

  const credentials = (): { username: string; credential: string } => ({
    username: session.info.turn.username,
    credential: session.info.turn.credential,
  })

  it.each(['udp', 'tls'] as const)(
    'allocates over %s, then releases with Refresh lifetime 0',
    async (transport) => {
      const port = transport === 'udp' ? proxy.region.ports.udp[0] : proxy.region.ports.tcp
      const allocation = await allocateTurn({ transport, host: '127.0.0.1', port }, credentials(), {
        timeoutMs: 1000,
        pin: { fingerprintSha256: proxy.server.tlsFingerprint },
      })
      expect(allocation.relayed?.address).toBe('127.0.0.1')
      expect(proxy.allocations()).toBe(1)
      expect(await allocation.release()).toBe(true)
      expect(proxy.allocations()).toBe(0)
    },
  )

  it.each([
    ['a name that does not resolve', 'nonexistent.invalid', ErrorCode.ProxyHostUnresolved],
    ['a closed port (ICMP port unreachable)', '127.0.0.1', ErrorCode.ProxyNotRunning],
  ] as const)('over udp, %s is an EngineError of its own, not a crash', async (_name, host, code) => {
    const port = await closedUdpPort()
    const error = await allocateTurn({ transport: 'udp', host, port }, credentials(), {
      timeoutMs: 1000,
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EngineError)
    expect(error).toMatchObject({ code })
  })

  it('wrong credentials are TurnAllocationRefused (401 after the challenge)', async () => {
    const error = await allocateTurn(
      { transport: 'udp', host: '127.0.0.1', port: proxy.region.ports.udp[0] },
      { ...credentials(), credential: 'wrong' },
      { timeoutMs: 1000 },
    ).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: ErrorCode.TurnAllocationRefused,
      detail: expect.stringMatching(/401/),
    })
  })
})

describe('selectTransport budgets (fake clock, fake allocator)', () => {
  const region: Region = {
    id: 'r',
    name: 'R',
    proxyHost: '198.51.100.7',
    ports: { udp: [3478, 7070], tcp: 443 },
  }
  const endpoint = (port: number, url: string): TurnEndpoint => ({ url, host: region.proxyHost, port })
  const proxyTarget = {
    region,
    session: {
      info: {
        version: 1,
        region: 'r',
        serverTime: 0,
        turn: { urls: [], username: '1:42', credential: 'c', ttlSeconds: 60, expiresAt: 1000 },
        signalUrl: 'wss://198.51.100.7:443/v1/signal',
        tls: { fingerprintSha256: 'AA' },
      },
      endpoints: {
        udp: endpoint(3478, 'turn:198.51.100.7:3478?transport=udp'),
        udpAlt: endpoint(7070, 'turn:198.51.100.7:7070?transport=udp'),
        tls: endpoint(443, 'turns:198.51.100.7:443?transport=tcp'),
      },
      elapsedMs: 0,
      fingerprintSha256: 'AA',
      leafPem: '',
    },
  } satisfies ProxyTarget

  /** Allocations that succeed after the given fake delay per port (never when absent). */
  function fakeAllocator(clock: FakeClock, delays: Record<number, number>) {
    const released: number[] = []
    const allocate: AllocateFn = (target, _credentials, options) =>
      new Promise<TurnAllocation>((resolve, reject) => {
        const delay = delays[target.port]
        options.signal?.addEventListener('abort', () => reject(new EngineError(ErrorCode.JoinCanceled)))
        if (delay === undefined) return
        clock.setTimeout(
          () =>
            resolve({
              target,
              relayed: undefined,
              elapsedMs: delay,
              release: () => {
                released.push(target.port)
                return Promise.resolve(true)
              },
            }),
          delay,
        )
      })
    return { allocate, released }
  }

  it('Auto spends exactly each budget: direct 1500, UDP 2000, then TLS wins', async () => {
    const clock = new FakeClock()
    const { allocate } = fakeAllocator(clock, { 443: 40 })
    const pending = selectTransport({
      mode: TransportType.Auto,
      proxy: proxyTarget,
      direct: { signalUrl: 'ws://192.0.2.1:8080/v1/signal' },
      probeDirect: () => new Promise<void>(() => undefined),
      allocate,
      clock,
    })
    await clock.advance(1500 + 2000 + 40)
    const selection = await pending
    expect(selection.transport).toBe('tls')
    expect(selection.elapsedMs).toBe(3540)
    expect(selection.attempts.map((a) => [a.transport, a.outcome, a.elapsedMs])).toEqual([
      ['direct', 'timeout', 1500],
      ['udp', 'timeout', 2000],
      ['udp', 'timeout', 2000],
      ['tls', 'won', 40],
    ])
  })

  it('the UDP race keeps the first allocation for werift and releases the loser once it completes', async () => {
    const clock = new FakeClock()
    const { allocate, released } = fakeAllocator(clock, { 3478: 30, 7070: 10 })
    const pending = selectTransport({ mode: TransportType.UDPProxy, proxy: proxyTarget, allocate, clock })
    await clock.advance(10)
    const selection = await pending
    expect(selection.target).toBe('198.51.100.7:7070')
    expect(selection.turn?.url).toBe('turn:198.51.100.7:7070?transport=udp')
    expect(released).toEqual([])
    await clock.advance(20)
    await selection.released
    expect(released).toEqual([3478])
    // Not taken by a PeerConnection (a fake allocation cannot be handed on): discarding releases it.
    expect(selection.relay?.take()).toBeUndefined()
    await selection.relay?.discard()
    expect(released).toEqual([3478, 7070])
  })

  it('injected budgets apply', async () => {
    const clock = new FakeClock()
    const { allocate } = fakeAllocator(clock, {})
    const pending = selectTransport({
      mode: TransportType.TCPProxy,
      proxy: proxyTarget,
      allocate,
      clock,
      budgets: { tlsMs: 250 },
    }).catch((e: unknown) => e)
    await clock.advance(249)
    await clock.advance(1)
    expect(await pending).toMatchObject({
      code: ErrorCode.ProxyTlsUnreachable,
      detail: expect.stringMatching(/250 ms/),
    })
  })
})
