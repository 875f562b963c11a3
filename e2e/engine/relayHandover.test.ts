/**
 * Issue 15, step 5 (docs/engine.md "Join round trips"): in UDP proxy mode werift's ICE gathers with the
 * TURN allocation the engine's UDP probe made (route/relayHandover.ts, media/handedRelay.ts) instead of
 * allocating again after the offer. Counted on the real proxy: each join makes its two racing probe
 * allocations (3478 and 7070, the loser released) and no third one, and media flows both ways through the
 * handed allocation (werift's refreshes, channel bindings and permissions on the probe's socket). A join
 * whose call builds no PeerConnection releases the allocation. Real ProxyServer and ConferenceServer in
 * this process on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { noCall } from '../../src/engine/call/call'
import { ErrorCode } from '../../src/shared/errors'
import { TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { makePeer, until } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({})
})
afterAll(() => stack?.close())

const total = (): number => stack.proxyMetrics.snapshot().allocationsTotal
const open = (): number => stack.proxyMetrics.snapshot().allocations

describe('one TURN allocation per UDP join: werift takes the probe’s (issue 15)', () => {
  it('two joins make only their probe allocations, and media flows both ways through them', async () => {
    const before = total()
    const openBefore = open()
    const a = makePeer(stack, 1, TransportType.UDPProxy)
    const b = makePeer(stack, 2, TransportType.UDPProxy)
    try {
      expect(await a.engine.joinChannel(await stack.token('handover', 1), 'handover', 1)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token('handover', 2), 'handover', 2)).toBe(0)
      // Each join's losing probe is released whenever it completes: one allocation per peer stays.
      await until(() => open() === openBefore + 2, 'the losing probes released', 3000)
      // Two racing probes per join and nothing else: werift allocated nothing of its own (it did: 3 each).
      expect(total() - before).toBe(4)
      a.startMedia()
      b.startMedia()
      await until(
        () => [a, b].every((p) => p.video.length >= 10 && p.audio.length >= 10),
        'media both ways through the handed allocations',
        10_000,
      )
      expect(total() - before).toBe(4)
    } finally {
      await a.engine.release()
      await b.engine.release()
    }
  })

  it('a join whose call builds no PeerConnection releases the allocation it selected', async () => {
    const openBefore = open()
    const totalBefore = total()
    const peer = makePeer(stack, 3, TransportType.UDPProxy, { connectCall: noCall })
    try {
      expect(await peer.engine.joinChannel(await stack.token('handover', 3), 'handover', 3)).toBe(
        ErrorCode.CallUnavailable,
      )
      expect(total() - totalBefore).toBe(2)
      await until(() => open() === openBefore, 'both probe allocations released', 3000)
    } finally {
      await peer.engine.release()
    }
  })
})
