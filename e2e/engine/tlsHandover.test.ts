/**
 * Issue 15, step T2 (docs/engine.md "Join round trips"): in TCP proxy mode (TURN over TLS on 443) werift's
 * ICE gathers with the allocation the engine's TLS probe made, on the probe's pinned TLS connection
 * (route/relayHandover.ts, media/handedRelay.ts, media/tlsRelayTransport.ts), instead of opening its own
 * connection and allocating again after the offer. Counted on the real proxy: one allocation per join and
 * no TLS connection after the session answer, and media flows both ways through the handed allocations
 * (werift's refreshes, channel bindings and data in TCP framing on the probe's connection). A join whose
 * call builds no PeerConnection releases it. Real ProxyServer and ConferenceServer on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { noCall } from '../../src/engine/call/call'
import { ErrorCode } from '../../src/shared/errors'
import { TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { checkedFramesFrom, makePeer, until } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({})
})
afterAll(() => stack?.close())

const total = (): number => stack.proxyMetrics.snapshot().allocationsTotal
const open = (): number => stack.proxyMetrics.snapshot().allocations
const tlsConnections = (): number => stack.proxyMetrics.snapshot().listenerEvents['turn_tls'] ?? 0

describe('one TURN allocation per TLS 443 join: werift takes the probe’s (issue 15, step T2)', () => {
  it('two joins make one allocation and one TURN-over-TLS connection each; media flows both ways', async () => {
    const [before, tlsBefore] = [total(), tlsConnections()]
    const a = makePeer(stack, 11, TransportType.TCPProxy)
    const b = makePeer(stack, 12, TransportType.TCPProxy)
    try {
      expect(await a.engine.joinChannel(await stack.token('tls-handover', 11), 'tls-handover', 11)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token('tls-handover', 12), 'tls-handover', 12)).toBe(0)
      // Without the handover: werift's own connection and allocation besides the probe's (2 and 2 each).
      expect(total() - before).toBe(2)
      expect(tlsConnections() - tlsBefore).toBe(2)
      a.startMedia()
      b.startMedia()
      await until(
        () => checkedFramesFrom(a, b) >= 10 && checkedFramesFrom(b, a) >= 10,
        'media both ways through the handed allocations',
        10_000,
      )
      expect(total() - before).toBe(2)
    } finally {
      a.stopMedia()
      b.stopMedia()
      await a.engine.release()
      await b.engine.release()
    }
  })

  it('a join whose call builds no PeerConnection releases the allocation it selected', async () => {
    const [openBefore, totalBefore] = [open(), total()]
    const peer = makePeer(stack, 13, TransportType.TCPProxy, { connectCall: noCall })
    try {
      expect(await peer.engine.joinChannel(await stack.token('tls-handover', 13), 'tls-handover', 13)).toBe(
        ErrorCode.CallUnavailable,
      )
      expect(total() - totalBefore).toBe(1)
      await until(() => open() === openBefore, 'the probe allocation released', 3000)
    } finally {
      await peer.engine.release()
    }
  })
})
