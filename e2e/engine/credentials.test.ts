/**
 * Fresh TURN credentials on a same-region rejoin (issue 4, Resilience): the proxy hands out TURN REST
 * credentials valid for 60 s (its minimum). Two engines on a fixed region are in a call; the wall clock
 * (Date.now, which the proxy's credential and nonce checks read) jumps 120 s, so the join's credentials
 * have expired; signaling is cut for 1 s, so the engines rejoin in full with a new PeerConnection (a new
 * TURN allocation). They must ask the proxy for a new session first: with the join's credentials the
 * proxy refuses the allocation (401) and the rejoin never gets media.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffPolicy } from '../../src/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { checkedFramesFrom, makePeer, until, type Peer } from './harness'

// Installed before the proxy starts: its TURN runtime keeps a reference to Date.now.
const realNow = Date.now.bind(Date)
let skewMs = 0
Date.now = () => realNow() + skewMs

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 }, 'sh', { credentialTtlSeconds: 60 })
})
afterAll(async () => {
  await stack?.close()
  Date.now = realNow
})

async function sessionsIssued(): Promise<number> {
  const text = await stack.proxyMetrics.metrics()
  return Number(/^pinhole_proxy_sessions_issued_total (\d+)/m.exec(text)?.[1] ?? NaN)
}

function peer(uid: number, mode: TransportType): Peer {
  return makePeer(stack, uid, mode, {
    call: { reconnect: backoffPolicy({ baseDelayMs: 100, maxDelayMs: 300, budgetMs: 12_000 }) },
  })
}

describe('TURN credentials expire during a call', () => {
  it('a full rejoin on the same region uses a new session: Connected (rejoinSucceed), frames flow', async () => {
    const a = peer(71, TransportType.UDPProxy)
    const b = peer(72, TransportType.TCPProxy)
    try {
      // Tokens valid well past the clock jump.
      expect(await a.engine.joinChannel(await stack.token('creds', 71, 3600), 'creds', 71)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token('creds', 72, 3600), 'creds', 72)).toBe(0)
      a.startMedia()
      b.startMedia()
      await until(() => a.video.length >= 5 && b.video.length >= 5, 'video before the loss')
      const issued = await sessionsIssued()

      skewMs = 120_000
      const cut = Date.now()
      expect(stack.cutSignaling(1000)).toBeGreaterThanOrEqual(2)
      for (const p of [a, b]) {
        await until(
          () => p.states.length > 3 && p.states.at(-1)?.[0] === S.Connected,
          `uid ${p.uid} back`,
          12_000,
        )
        expect(p.states.at(-1)).toEqual([S.Connected, R.RejoinSucceed])
      }
      console.log(`expired credentials, cut → Connected: ${Date.now() - cut} ms`)
      // Same region, same transport: no proxyConnected; but new sessions were requested.
      for (const p of [a, b]) expect(p.proxyConnected).toHaveLength(1)
      expect(await sessionsIssued()).toBeGreaterThan(issued)

      const [beforeA, beforeB] = [checkedFramesFrom(a, b), checkedFramesFrom(b, a)]
      await until(
        () =>
          a.video.filter((f) => f.uid === b.uid).length >= beforeA + 5 &&
          b.video.filter((f) => f.uid === a.uid).length >= beforeB + 5,
        'video again with the fresh credentials',
        8000,
      )
      checkedFramesFrom(a, b)
      checkedFramesFrom(b, a)
      expect(a.errors.concat(b.errors)).toEqual([])
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  }, 40_000)
})
