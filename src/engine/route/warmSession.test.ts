import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../e2e/support/fakeClock'
import { ConnectionState, TransportType, type Region } from '../../shared/engine'
import { EngineError, ErrorCode } from '../../shared/errors'
import { silentLogger } from '../defaults'
import type { ProxySession } from './proxySessionClient'
import { WarmSession, warmKeyOf, type WarmKey } from './warmSession'

const region: Region = {
  id: 'sh',
  name: 'Shanghai',
  proxyHost: '127.0.0.1',
  ports: { udp: [3478, 7070], tcp: 443 },
}
const key: WarmKey = { region, token: 't', channel: 'c', uid: 7, mode: TransportType.UDPProxy }

/** A session whose TURN credentials live `ttlS` seconds; `n` tells sessions apart. */
function session(n: number, ttlS = 3600): ProxySession {
  return {
    info: {
      version: 1,
      region: 'sh',
      serverTime: 1_000_000,
      turn: {
        urls: ['turn:127.0.0.1:3478?transport=udp'],
        username: `u${n}`,
        credential: 'c',
        ttlSeconds: ttlS,
        expiresAt: 1_000_000 + ttlS * 1000,
      },
      signalUrl: 'wss://127.0.0.1:443/v1/signal',
      tls: { fingerprintSha256: Array(32).fill('AB').join(':') },
    },
    endpoints: {},
    elapsedMs: 1,
    fingerprintSha256: '',
    leafPem: '',
  }
}

function warmWith(answers: (() => Promise<ProxySession>)[], ttlS?: number) {
  const clock = new FakeClock()
  const signals: AbortSignal[] = []
  let n = 0
  const warm = new WarmSession({
    clock,
    logger: silentLogger,
    warm: { maxAgeMs: 40_000, refreshMs: 25_000, keepMs: 60_000 },
    request: (_region, _token, options) => {
      if (options?.signal) signals.push(options.signal)
      const answer = answers[n]
      n++
      return answer ? answer() : Promise.resolve(session(n, ttlS))
    },
  })
  return { clock, warm, signals, asked: () => n }
}

describe('WarmSession', () => {
  it('refreshes every refreshMs until keepMs after prepare; the join takes the latest', async () => {
    const { clock, warm, asked } = warmWith([])
    expect(await warm.prepare(key)).toBe(0)
    await clock.advance(25_000)
    await clock.advance(25_000)
    // 50 s in: a third refresh would end after keepMs (60 s), so none is scheduled.
    await clock.advance(25_000)
    expect(asked()).toBe(3)
    // Taken at 75 s: the last one is 25 s old, fresh.
    expect(warm.take(key)?.session.info.turn.username).toBe('u3')
    expect(warm.take(key)).toBeUndefined()
  })

  it('is not used once older than maxAgeMs, or than half its credentials’ lifetime', async () => {
    // A refresh that never answers: the session it would have replaced ages.
    const never = (): Promise<ProxySession> => new Promise<ProxySession>(() => undefined)
    const stuck = warmWith([() => Promise.resolve(session(1)), never])
    await stuck.warm.prepare(key)
    await stuck.clock.advance(40_000)
    expect(stuck.warm.take(key)).toBeUndefined()

    // Credentials for 60 s: 30 s old is too old (maxAgeMs alone would allow 40 s).
    const credentials60 = [() => Promise.resolve(session(1, 60)), never]
    const young = warmWith(credentials60)
    await young.warm.prepare(key)
    await young.clock.advance(29_000)
    expect(young.warm.take(key)).toBeDefined()
    const old = warmWith(credentials60)
    await old.warm.prepare(key)
    await old.clock.advance(30_000)
    expect(old.warm.take(key)).toBeUndefined()
  })

  it('only for the same region host, token, channel, uid and mode', async () => {
    const other: WarmKey[] = [
      { ...key, uid: 8 },
      { ...key, channel: 'd' },
      { ...key, token: 'u' },
      { ...key, region: { ...region, proxyHost: '127.0.0.2' } },
      { ...key, region: { ...region, id: 'bj' } },
      { ...key, mode: TransportType.TCPProxy },
    ]
    for (const k of other) {
      const { warm } = warmWith([])
      await warm.prepare(key)
      expect(warm.take(k)).toBeUndefined()
      // Passed over is dropped: not there for the original key either.
      expect(warm.take(key)).toBeUndefined()
    }
  })

  it('a refusal keeps nothing and answers its code; clear aborts a request in flight', async () => {
    const refused = warmWith([() => Promise.reject(new EngineError(ErrorCode.ProxySessionTokenExpired))])
    expect(await refused.warm.prepare(key)).toBe(ErrorCode.ProxySessionTokenExpired)
    expect(refused.warm.take(key)).toBeUndefined()

    const pending = warmWith([() => new Promise<ProxySession>(() => undefined)])
    void pending.warm.prepare(key)
    pending.warm.clear()
    expect(pending.signals[0]?.aborted).toBe(true)
  })

  it('warmKeyOf: 414 as joinChannel would, InvalidState without a fixed region, in mode None or in a call', () => {
    const join = {
      ...{ token: 't', channel: 'c', uid: 7, mode: TransportType.UDPProxy, region },
      ...{ state: ConnectionState.Disconnected, valid: true },
    }
    expect(warmKeyOf(join)).toEqual(key)
    expect(warmKeyOf({ ...join, state: ConnectionState.Failed })).toEqual(key)
    expect(warmKeyOf({ ...join, valid: false })).toBe(ErrorCode.RequestParameter)
    expect(warmKeyOf({ ...join, region: undefined })).toBe(ErrorCode.InvalidState)
    expect(warmKeyOf({ ...join, mode: TransportType.None })).toBe(ErrorCode.InvalidState)
    expect(warmKeyOf({ ...join, state: ConnectionState.Connected })).toBe(ErrorCode.InvalidState)
  })
})
