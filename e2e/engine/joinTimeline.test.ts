/**
 * Issue 15: `createEngine({ joinTimeline })` reports each step of a real join through the proxy (session,
 * TURN, signaling, offer/answer, ICE, DTLS) once, each after the steps it needs, before Connected — and
 * nothing from a reconnect or a leave. The lab bench (`npm run bench:join -- --lab`) reads its per-step
 * timeline from it. The signaling connection opens on the proxy session, in parallel with the TURN probe
 * allocation, and is closed when the join fails before the call takes it. Real ProxyServer and
 * ConferenceServer in this process on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JoinStep } from '../../src/engine'
import type { AllocateFn } from '../../src/engine/route/pathSelect'
import { allocateTurn } from '../../src/engine/route/turnProbe'
import { EngineError, ErrorCode } from '../../src/shared/errors'
import { ConnectionState, TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { makePeer, until } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({})
})
afterAll(() => stack?.close())

const STEPS: JoinStep[] = [
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

/**
 * What must come before what (docs/engine.md "Join round trips"). The signaling connection opens beside
 * the session request (its upgrade carries the join, step U) and while the transport is selected: it
 * waits for neither.
 */
const AFTER: [JoinStep, JoinStep][] = [
  ['sessionRequest', 'sessionAnswer'],
  ['sessionAnswer', 'transportSelected'],
  ['sessionRequest', 'signalingOpen'],
  ['transportSelected', 'joined'],
  ['signalingOpen', 'joined'],
  ['joined', 'offer'],
  ['offer', 'gathered'],
  ['gathered', 'answer'],
  ['answer', 'iceConnected'],
  ['iceConnected', 'dtlsConnected'],
]

describe('the join timeline (createEngine({ joinTimeline }))', () => {
  for (const [name, mode] of [
    ['UDP proxy', TransportType.UDPProxy],
    ['TLS 443', TransportType.TCPProxy],
  ] as const) {
    it(`${name}: every step once, each after the steps it needs, at or before Connected`, async () => {
      const steps: [JoinStep, number][] = []
      let connectedAt: number | undefined
      const peer = makePeer(stack, 1, mode, { joinTimeline: (step, ms) => steps.push([step, ms]) })
      peer.engine.on('connectionStateChanged', (state) => {
        if (state === ConnectionState.Connected) connectedAt = steps.length
      })
      try {
        expect(await peer.engine.joinChannel(await stack.token('timeline', 1), 'timeline', 1)).toBe(0)
        const names = steps.map(([step]) => step)
        expect([...names].sort()).toEqual([...STEPS].sort())
        for (const [before, after] of AFTER) {
          expect(names.indexOf(before), `${before} before ${after}: ${names.join(', ')}`).toBeLessThan(
            names.indexOf(after),
          )
        }
        // Every step came before Connected, with non-decreasing times from joinChannel.
        expect(connectedAt).toBe(STEPS.length)
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
        expect(steps).toHaveLength(STEPS.length)
      } finally {
        await peer.engine.release()
      }
    })
  }
})

describe('early signaling: the signaling connection opens on the proxy session (issue 15)', () => {
  /** A probe allocation that starts only once signaling is open: it never would if signaling waited for it. */
  function afterSignaling(opened: Promise<void>, then: AllocateFn): AllocateFn {
    return async (target, credentials, options) => {
      await opened
      return then(target, credentials, options)
    }
  }

  it('opens while the TURN probe allocation runs (a probe that waits for it still joins)', async () => {
    let open: () => void = () => undefined
    const opened = new Promise<void>((resolve) => (open = resolve))
    const peer = makePeer(stack, 2, TransportType.UDPProxy, {
      joinTimeoutMs: 8000,
      allocate: afterSignaling(opened, allocateTurn),
      joinTimeline: (step) => step === 'signalingOpen' && open(),
    })
    try {
      expect(await peer.engine.joinChannel(await stack.token('early', 2), 'early', 2)).toBe(0)
    } finally {
      await peer.engine.release()
    }
  })

  it('connects its TCP and TLS beside the session request: two connections accepted before the answer', async () => {
    const accepted = (): number => stack.proxyMetrics.snapshot().listenerEvents['accepted'] ?? 0
    const at: Partial<Record<JoinStep, number>> = {}
    const peer = makePeer(stack, 4, TransportType.UDPProxy, {
      joinTimeline: (step) => (at[step] = accepted()),
    })
    try {
      expect(await peer.engine.joinChannel(await stack.token('early', 4), 'early', 4)).toBe(0)
      // The session request's connection and the signaling's, both before the session answer; the
      // signaling connection is the one later upgraded (no third connection to the TCP port in UDP mode).
      expect((at.sessionAnswer ?? 0) - (at.sessionRequest ?? 0)).toBe(2)
      expect((at.dtlsConnected ?? 0) - (at.sessionRequest ?? 0)).toBe(2)
    } finally {
      await peer.engine.release()
    }
  })

  it('TLS 443: the probe allocation’s TLS connection is made beside the session request too', async () => {
    const accepted = (): number => stack.proxyMetrics.snapshot().listenerEvents['accepted'] ?? 0
    const at: Partial<Record<JoinStep, number>> = {}
    const peer = makePeer(stack, 5, TransportType.TCPProxy, {
      joinTimeline: (step) => (at[step] = accepted()),
    })
    try {
      expect(await peer.engine.joinChannel(await stack.token('early', 5), 'early', 5)).toBe(0)
      // Session, signaling and the probe allocation's TURN over TLS, all before the session answer; and
      // none after: the probe used the preconnected one, and werift carries on with the probe's (step T2).
      expect((at.sessionAnswer ?? 0) - (at.sessionRequest ?? 0)).toBe(3)
      expect((at.dtlsConnected ?? 0) - (at.sessionRequest ?? 0)).toBe(3)
    } finally {
      await peer.engine.release()
    }
  })

  it('sends join on it at once: the others see the user join while the probe allocation still runs', async () => {
    const observer = makePeer(stack, 7, TransportType.UDPProxy)
    let peer: ReturnType<typeof makePeer> | undefined
    try {
      expect(await observer.engine.joinChannel(await stack.token('early-join', 7), 'early-join', 7)).toBe(0)
      peer = makePeer(stack, 8, TransportType.UDPProxy, {
        joinTimeoutMs: 8000,
        allocate: async (target, credentials, options) => {
          await until(() => observer.users.includes('joined 8'), 'the early join reached the others', 6000)
          return allocateTurn(target, credentials, options)
        },
      })
      expect(await peer.engine.joinChannel(await stack.token('early-join', 8), 'early-join', 8)).toBe(0)
    } finally {
      await peer?.engine.release()
      await observer.engine.release()
    }
  })

  it('closes that connection when the transport then fails: nothing left open on the proxy', async () => {
    let open: () => void = () => undefined
    const opened = new Promise<void>((resolve) => (open = resolve))
    let openDuringProbe = 0
    const peer = makePeer(stack, 3, TransportType.UDPProxy, {
      allocate: afterSignaling(opened, () => {
        openDuringProbe = stack.proxyMetrics.snapshot().signalConnections
        return Promise.reject(new EngineError(ErrorCode.ProxyUdpUnreachable, 'test: UDP blocked'))
      }),
      joinTimeline: (step) => step === 'signalingOpen' && open(),
    })
    try {
      const code = await peer.engine.joinChannel(await stack.token('early', 3), 'early', 3)
      expect(code).toBe(ErrorCode.ProxyUdpUnreachable)
      expect(openDuringProbe).toBe(1)
      // Closed by the engine at once; left alone, the conference server would close it only after its
      // 5 s join timeout.
      await until(
        () => stack.proxyMetrics.snapshot().signalConnections === 0,
        'the early connection closed',
        2000,
      )
    } finally {
      await peer.engine.release()
    }
  })
})
