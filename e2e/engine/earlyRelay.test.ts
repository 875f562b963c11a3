/**
 * Issue 15, step A (docs/engine.md "Join round trips"): a join's probe allocations start with the session
 * request, on credentials the join token gives (route/earlyRelay.ts, protocol/auth/joinTurn.ts), instead of
 * waiting for the session answer's. Counted on the real proxy: over UDP both racing ports' first Allocates
 * have been answered (401: the realm and nonce) by the time the session answer arrives, the join still makes
 * only its two probe allocations, and werift then carries the allocation on with the session's REST
 * credentials (no 401 or 438 after: same realm, same nonce) — media flows. Over TLS the allocation is made on
 * the connection opened beside the session request with the token's credentials, and its first Allocate
 * draws no 401 (the nonce over TLS, protocol/auth/joinTurn.ts). A proxy that refuses the
 * token's credentials (an older one) gets the session's, as before. Real ProxyServer and ConferenceServer in
 * this process on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JoinStep } from '../../src/engine'
import type { AllocateFn } from '../../src/engine/route/pathSelect'
import { allocateTurn } from '../../src/engine/route/turnProbe'
import { EngineError, ErrorCode } from '../../src/shared/errors'
import { TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { makePeer, until } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({})
})
afterAll(() => stack?.close())

const snapshot = () => stack.proxyMetrics.snapshot()
const challenges = (): number => snapshot().errors['401'] ?? 0
const stale = (): number => snapshot().errors['438'] ?? 0

/** The usernames the engine allocates with, in order (a JWT's `header.payload` has a dot; REST's none). */
function recording(into: string[], then: AllocateFn = allocateTurn): AllocateFn {
  return (target, credentials, options) => {
    into.push(`${target.transport} ${credentials.username.includes('.') ? 'token' : 'session'}`)
    return then(target, credentials, options)
  }
}

describe('the join’s TURN allocation starts with the session request (issue 15, step A)', () => {
  it('UDP: both ports answered before the session answer, two allocations, werift carries on, media flows', async () => {
    const at: Partial<Record<JoinStep, number>> = {}
    const before = { challenges: challenges(), stale: stale(), total: snapshot().allocationsTotal }
    const used: string[] = []
    const a = makePeer(stack, 1, TransportType.UDPProxy, {
      allocate: recording(used),
      joinTimeline: (step) => (at[step] = challenges() - before.challenges),
    })
    const b = makePeer(stack, 2, TransportType.UDPProxy)
    try {
      expect(await a.engine.joinChannel(await stack.token('early-relay', 1), 'early-relay', 1)).toBe(0)
      // The proxy challenged the token's first Allocate (no realm or nonce yet) before the session answered.
      expect(at.sessionAnswer ?? 0).toBeGreaterThanOrEqual(1)
      expect(used).toEqual(['udp token', 'udp token'])
      expect(challenges() - before.challenges).toBe(2)
      expect(snapshot().allocationsTotal - before.total).toBe(2)
      expect(await b.engine.joinChannel(await stack.token('early-relay', 2), 'early-relay', 2)).toBe(0)
      a.startMedia()
      b.startMedia()
      await until(
        () => [a, b].every((p) => p.video.length >= 10 && p.audio.length >= 10),
        'media both ways, werift on the token-made allocation with the session’s credentials',
        10_000,
      )
      // werift's ChannelBind, permissions and refreshes were accepted as they came: no new nonce, no 401.
      expect(challenges() - before.challenges).toBe(4)
      expect(stale() - before.stale).toBe(0)
      expect(snapshot().allocationsTotal - before.total).toBe(4)
    } finally {
      await a.engine.release()
      await b.engine.release()
    }
  })

  it('TLS 443: allocated with the token’s credentials on the connection made beside the session request, no 401', async () => {
    const used: string[] = []
    const before = {
      total: snapshot().allocationsTotal,
      accepted: snapshot().listenerEvents['accepted'] ?? 0,
      challenges: challenges(),
      stale: stale(),
    }
    const peer = makePeer(stack, 3, TransportType.TCPProxy, { allocate: recording(used) })
    try {
      expect(await peer.engine.joinChannel(await stack.token('early-relay', 3), 'early-relay', 3)).toBe(0)
      expect(used).toEqual(['tls token'])
      expect(snapshot().allocationsTotal - before.total).toBe(1)
      // Session, signaling, TURN over TLS: no fourth connection (the allocation used the preconnected one).
      expect((snapshot().listenerEvents['accepted'] ?? 0) - before.accepted).toBe(3)
      // Over TLS the first Allocate goes without a nonce of the proxy's (JOIN_TURN_TLS_NONCE) and its answer
      // brings one, which werift's requests use: no 401 after the TLS handshake, no 438 later.
      expect(challenges() - before.challenges).toBe(0)
      expect(stale() - before.stale).toBe(0)
    } finally {
      await peer.engine.release()
    }
  })

  it('a proxy that refuses the token’s credentials gets the session’s, and the join connects', async () => {
    const used: string[] = []
    const olderProxy: AllocateFn = (target, credentials, options) =>
      credentials.username.includes('.')
        ? Promise.reject(new EngineError(ErrorCode.TurnAllocationRefused, '401 Unauthorized'))
        : allocateTurn(target, credentials, options)
    for (const [uid, mode] of [
      [4, TransportType.UDPProxy],
      [5, TransportType.TCPProxy],
    ] as const) {
      used.length = 0
      const peer = makePeer(stack, uid, mode, { allocate: recording(used, olderProxy) })
      try {
        expect(await peer.engine.joinChannel(await stack.token('early-relay', uid), 'early-relay', uid)).toBe(
          0,
        )
        const transport = mode === TransportType.UDPProxy ? 'udp' : 'tls'
        const tries = mode === TransportType.UDPProxy ? 2 : 1
        expect(used.filter((u) => u === `${transport} token`)).toHaveLength(tries)
        expect(used.filter((u) => u === `${transport} session`)).toHaveLength(tries)
      } finally {
        await peer.engine.release()
      }
    }
  })
})
