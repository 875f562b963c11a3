/**
 * Warm join (issue 15; docs/engine.md "Join round trips", step W): `prepareJoin` keeps a proxy session
 * ready, and the join it was made for starts from it — no session request at join time — and still
 * reaches Connected through the real proxy and conference server on loopback. A session that has grown
 * stale, or one kept for another uid, is not used; 414 is still answered before anything is sent; release
 * stops the refreshing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JoinStep } from '../../src/engine'
import { ErrorCode } from '../../src/shared/errors'
import { ConnectionState as S, TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { makePeer, until, type Peer } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({}, 'warm')
})
afterAll(async () => {
  await stack?.close()
})

async function sessionsIssued(): Promise<number> {
  const text = await stack.proxyMetrics.metrics()
  return Number(/^pinhole_proxy_sessions_issued_total (\d+)/m.exec(text)?.[1] ?? NaN)
}

interface WarmPeer extends Peer {
  steps: JoinStep[]
  /** Moves the engine's clock on (its `now`), as if the app had sat on the join form that long. */
  skew(ms: number): void
}

function peer(uid: number, mode: TransportType, warm = {}): WarmPeer {
  const steps: JoinStep[] = []
  let skewMs = 0
  const p = makePeer(stack, uid, mode, {
    now: () => performance.now() + skewMs,
    warm,
    joinTimeline: (step) => steps.push(step),
  })
  return Object.assign(p, { steps, skew: (ms: number) => void (skewMs += ms) })
}

describe('warm join (prepareJoin)', () => {
  it.each([
    ['UDP proxy', TransportType.UDPProxy, 301],
    ['TLS 443', TransportType.TCPProxy, 302],
  ])('%s: the join sends no session request and reaches Connected', async (_name, mode, uid) => {
    const p = peer(uid, mode)
    try {
      const token = await stack.token('warm', uid)
      const before = await sessionsIssued()
      expect(await p.engine.prepareJoin(token, 'warm', uid)).toBe(0)
      expect(await sessionsIssued()).toBe(before + 1)
      expect(await p.engine.joinChannel(token, 'warm', uid)).toBe(0)
      expect(p.engine.getConnectionState()).toBe(S.Connected)
      expect(await sessionsIssued()).toBe(before + 1)
      expect(p.steps).not.toContain('sessionRequest')
      expect(p.steps).toContain('dtlsConnected')
    } finally {
      await p.engine.release()
    }
  })

  it('a prepared session older than maxAgeMs is not used: the join asks for its own', async () => {
    const p = peer(303, TransportType.UDPProxy)
    try {
      const token = await stack.token('warm', 303)
      const before = await sessionsIssued()
      expect(await p.engine.prepareJoin(token, 'warm', 303)).toBe(0)
      // Past the default 40 s (a cluster's route ticket in the session lives 60 s).
      p.skew(45_000)
      expect(await p.engine.joinChannel(token, 'warm', 303)).toBe(0)
      expect(await sessionsIssued()).toBe(before + 2)
      expect(p.steps).toContain('sessionRequest')
    } finally {
      await p.engine.release()
    }
  })

  it('a session kept for another uid, or 414, is not used; 414 sends nothing', async () => {
    const p = peer(304, TransportType.UDPProxy)
    try {
      const before = await sessionsIssued()
      expect(await p.engine.prepareJoin(await stack.token('warm', 0), 'warm', 0)).toBe(
        ErrorCode.RequestParameter,
      )
      expect(await sessionsIssued()).toBe(before)
      expect(await p.engine.prepareJoin(await stack.token('warm', 305), 'warm', 305)).toBe(0)
      expect(await p.engine.joinChannel(await stack.token('warm', 304), 'warm', 304)).toBe(0)
      expect(await sessionsIssued()).toBe(before + 2)
      expect(p.steps).toContain('sessionRequest')
    } finally {
      await p.engine.release()
    }
  })

  it('refreshes while kept, and stops at release', async () => {
    const p = peer(306, TransportType.UDPProxy, { refreshMs: 150, maxAgeMs: 1000 })
    const before = await sessionsIssued()
    expect(await p.engine.prepareJoin(await stack.token('warm', 306), 'warm', 306)).toBe(0)
    let issued = before
    const counted = setInterval(() => void sessionsIssued().then((n) => (issued = n)), 20)
    try {
      await until(() => issued >= before + 3, 'two refreshes', 5000)
    } finally {
      clearInterval(counted)
    }
    await p.engine.release()
    const atRelease = await sessionsIssued()
    await new Promise((resolve) => setTimeout(resolve, 600))
    // A request already in flight at release may still be counted; nothing after it.
    expect(await sessionsIssued()).toBeLessThanOrEqual(atRelease + 1)
  })
})
