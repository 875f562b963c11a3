import { describe, expect, it } from 'vitest'
import { EngineError, ErrorCode } from '../../shared/errors'
import { TransportType, type Region } from '../../shared/engine'
import { systemClock } from '../defaults'
import { EarlyRelay } from './earlyRelay'
import type { Preconnected } from './preconnect'
import type { PinnedTls } from './tlsPin'
import type { AllocateOptions, TurnAllocation, TurnCredentials, TurnTarget } from './turnProbe'

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJhcHBLZXkiOiJhIiwidWlkIjo3fQ.c2lnbmF0dXJl'
const region = (udp: [number, number]): Region =>
  ({ id: 'r', name: 'R', proxyHost: '127.0.0.1', ports: { udp, tcp: 443 } }) as Region

/** A fake allocator: records each call; `refuse` makes it refuse the token's credentials. */
function fake(refuse = false) {
  const calls: string[] = []
  const released: string[] = []
  const allocate = (target: TurnTarget, credentials: TurnCredentials, _options: AllocateOptions) => {
    const who = credentials.username.includes('.') ? 'token' : 'session'
    calls.push(`${target.port} ${who}`)
    if (refuse && who === 'token')
      return Promise.reject(new EngineError(ErrorCode.TurnAllocationRefused, '401'))
    const allocation: TurnAllocation = {
      target,
      relayed: undefined,
      elapsedMs: 1,
      release: () => (released.push(`${target.port} ${who}`), Promise.resolve(true)),
    }
    return Promise.resolve(allocation)
  }
  return { calls, released, allocate }
}

type Allocate = ReturnType<typeof fake>['allocate']

const start = (udp: [number, number], allocate: Allocate, token = TOKEN) =>
  EarlyRelay.start({
    region: region(udp),
    mode: TransportType.UDPProxy,
    token,
    allocate,
    signal: new AbortController().signal,
    clock: systemClock,
  })

/** TCP proxy mode, with the preconnected TLS connection `turnTls` when given. */
const startTcp = (allocate: Allocate, turnTls?: Preconnected) =>
  EarlyRelay.start({
    region: region([3478, 7070]),
    mode: TransportType.TCPProxy,
    token: TOKEN,
    allocate,
    signal: new AbortController().signal,
    clock: systemClock,
    turnTls,
  })

/** The call's own allocation with the session's credentials, when the early one is not taken. */
const fallbackOn = (allocate: Allocate, transport: 'udp' | 'tls', port: number) => () =>
  allocate({ transport, host: '127.0.0.1', port }, { username: '1:a:7', credential: 'x' }, { timeoutMs: 1 })

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
}

describe('EarlyRelay', () => {
  it('allocates on each UDP port once with the token, and releases what nobody took', async () => {
    const f = fake()
    const early = start([3478, 3478], f.allocate)!
    expect(f.calls).toEqual(['3478 token']) // one port named twice: one allocation, none left behind
    await early.discard()
    expect(f.released).toEqual(['3478 token'])
  })

  it('hands the taker its allocation; a refused one is replaced by the fallback', async () => {
    const f = fake(true)
    const early = start([3478, 7070], f.allocate)!
    const signal = new AbortController().signal
    const fallback = fallbackOn(f.allocate, 'udp', 3478)
    const taken = await early.takeUdp('127.0.0.1', 3478, signal, fallback)
    expect(taken?.target.port).toBe(3478)
    expect(f.calls).toEqual(['3478 token', '7070 token', '3478 session'])
    expect(early.takeUdp('127.0.0.1', 3478, signal, fallback)).toBeUndefined()
    expect(early.takeUdp('127.0.0.1', 9999, signal, fallback)).toBeUndefined()
    await early.discard() // 7070's was refused: nothing to release
    expect(f.released).toEqual([])
  })

  it('TLS: the allocation on a connection that saw another certificate than the session is released, not used', async () => {
    const f = fake()
    // The preconnected TLS connection (region-pinned), as preconnect.ts hands it over.
    const connection = { fingerprintSha256: 'AA:BB', socket: {} } as unknown as PinnedTls
    const turnTls = { takeAny: () => Promise.resolve(connection) } as unknown as Preconnected
    const early = startTcp(f.allocate, turnTls)!
    const signal = new AbortController().signal
    const fallback = fallbackOn(f.allocate, 'tls', 443)
    const used = await early.takeTls('127.0.0.1', 443, 'CC:DD', signal, fallback)
    expect(f.calls).toEqual(['443 token', '443 session'])
    expect(used?.target.port).toBe(443)
    await until(() => f.released.length === 1)
    expect(f.released).toEqual(['443 token'])
    // The same certificate (any case): the early one is used, no fallback.
    const g = fake()
    const same = startTcp(g.allocate, turnTls)!
    await same.takeTls('127.0.0.1', 443, 'aa:bb', signal, fallback)
    expect(g.calls).toEqual(['443 token'])
    expect(g.released).toEqual([])
  })

  it('starts nothing for a token that gives no TURN credentials, or in TCP mode without a connection', () => {
    const f = fake()
    expect(start([3478, 7070], f.allocate, 'not-a-jwt')).toBeUndefined()
    const tcp = startTcp(f.allocate)
    expect(tcp).toBeUndefined()
    expect(f.calls).toEqual([])
  })
})
