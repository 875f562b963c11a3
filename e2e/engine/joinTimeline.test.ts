/**
 * Issue 15: `createEngine({ joinTimeline })` reports each step of a real join through the proxy (session,
 * TURN, signaling, offer/answer, ICE, DTLS) once, in the order the chain runs, before Connected — and
 * nothing from a second engine's join into the same call, a leave or a reconnect. The lab bench
 * (`npm run bench:join -- --lab`) reads its per-step timeline from it. Real ProxyServer and
 * ConferenceServer in this process on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JoinStep } from '../../src/engine'
import { ConnectionState, TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { makePeer, until } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({})
})
afterAll(() => stack?.close())

/** The chain's order: each step needs the one before it (docs/engine.md "Join round trips"). */
const CHAIN: JoinStep[] = [
  'sessionRequest',
  'sessionAnswer',
  'transportSelected',
  'signalingOpen',
  'joined',
  'offer',
  'gathered',
  'answer',
  'iceConnected',
  'dtlsConnected',
]

describe('the join timeline (createEngine({ joinTimeline }))', () => {
  for (const [name, mode] of [
    ['UDP proxy', TransportType.UDPProxy],
    ['TLS 443', TransportType.TCPProxy],
  ] as const) {
    it(`${name}: every step once, in the chain's order, at or before Connected`, async () => {
      const steps: [JoinStep, number][] = []
      let connectedAt: number | undefined
      const peer = makePeer(stack, 1, mode, { joinTimeline: (step, ms) => steps.push([step, ms]) })
      peer.engine.on('connectionStateChanged', (state) => {
        if (state === ConnectionState.Connected) connectedAt = steps.length
      })
      try {
        expect(await peer.engine.joinChannel(await stack.token('timeline', 1), 'timeline', 1)).toBe(0)
        expect(steps.map(([step]) => step)).toEqual(CHAIN)
        // Every step came before Connected, with non-decreasing times from joinChannel.
        expect(connectedAt).toBe(CHAIN.length)
        const times = steps.map(([, ms]) => ms)
        expect(times).toEqual([...times].sort((a, b) => a - b))
        expect(times[0]).toBeGreaterThanOrEqual(0)
        // A reconnect (a fresh session, a new signaling connection, a join) is not the join: no steps.
        expect(stack.cutSignaling()).toBeGreaterThanOrEqual(1)
        await until(() => peer.states.length >= 5, 'reconnected', 8000)
        expect(peer.states.slice(3).map(([state]) => state)).toEqual([
          ConnectionState.Reconnecting,
          ConnectionState.Connected,
        ])
        await peer.engine.leaveChannel()
        expect(steps).toHaveLength(CHAIN.length)
      } finally {
        await peer.engine.release()
      }
    })
  }
})
