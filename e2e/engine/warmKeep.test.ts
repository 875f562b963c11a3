/**
 * Warm join keeping its connections (issue 15; docs/engine.md "Join round trips", step K): while a join
 * is prepared, the engine keeps the signaling connection's TCP and TLS to the proxy open and the join's
 * probe allocations made (route/warmKeep.ts), and the join takes them: it opens no TCP/TLS connection of
 * its own and makes no allocation. What is kept goes at release and keepMs; a kept connection the proxy
 * closed is replaced (or, if not yet, not used). Real ProxyServer and ConferenceServer on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JoinStep } from '../../src/engine'
import { ErrorCode } from '../../src/shared/errors'
import { ConnectionState as S, TransportType } from '../../src/shared/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { startConnectProxy, type ConnectProxy } from '../support/connectProxy'
import { makePeer, until, type Peer } from './harness'

let stack: CallStack
let short: CallStack
let corporate: ConnectProxy
let shorter: CallStack
let quota: CallStack
beforeAll(async () => {
  // Two allocations per user (appKey:uid) at a time: what a token holder may hold, prepared or not.
  quota = await startCallStack({}, 'quota', { allocations: { perUser: 2 } })
  // One whose deadline (0.5 s) closes a kept connection before it is a second old.
  shorter = await startCallStack({}, 'shorter', { timeouts: { firstByteMs: 500 } })
  corporate = await startConnectProxy({ user: { username: 'desk', password: 'pw' } })
  stack = await startCallStack({}, 'keep')
  // A proxy whose deadline for a connection's first byte (10 s by default) is 1.5 s.
  short = await startCallStack({}, 'short', { timeouts: { firstByteMs: 1500 } })
})
afterAll(async () => {
  await stack?.close()
  await short?.close()
  await corporate?.close()
  await shorter?.close()
  await quota?.close()
})

const accepted = (s: CallStack): number => s.proxyMetrics.snapshot().listenerEvents['accepted'] ?? 0
const firstByteTimeouts = (s: CallStack): number =>
  s.proxyMetrics.snapshot().listenerEvents['tls_first_byte_timeout'] ?? 0
const allocationsMade = (s: CallStack): number => s.proxyMetrics.snapshot().allocationsTotal
const allocationsOpen = (s: CallStack): number => s.proxyMetrics.snapshot().allocations
const tcpOpen = (s: CallStack): number => Number(s.proxy.health().details['tcpConnections'])

function peer(s: CallStack, uid: number, mode: TransportType, warm = {}): Peer & { steps: JoinStep[] } {
  const steps: JoinStep[] = []
  const p = makePeer(s, uid, mode, { warm, joinTimeline: (step) => steps.push(step) })
  return Object.assign(p, { steps })
}

describe('warm join keeps its signaling connection and allocations (prepareJoin)', () => {
  it.each([
    // UDP: the signaling connection, and an allocation on each of the region's two UDP ports.
    ['UDP proxy', TransportType.UDPProxy, 401, 1, 2],
    // TLS 443: the signaling connection and the TURN-over-TLS connection with its allocation.
    ['TLS 443', TransportType.TCPProxy, 402, 2, 1],
  ])(
    '%s: the join opens no connection and makes no allocation of its own',
    async (_name, mode, uid, connections, allocations) => {
      const p = peer(stack, uid, mode)
      try {
        const token = await stack.token('keep', uid)
        const acceptedBefore = accepted(stack)
        const madeBefore = allocationsMade(stack)
        expect(await p.engine.prepareJoin(token, 'keep', uid)).toBe(0)
        // The session request's own connection, then what is kept.
        await until(
          () =>
            accepted(stack) === acceptedBefore + 1 + connections &&
            allocationsMade(stack) === madeBefore + allocations,
          'the kept connections and allocations',
        )
        expect(await p.engine.joinChannel(token, 'keep', uid)).toBe(0)
        expect(p.engine.getConnectionState()).toBe(S.Connected)
        // No TCP/TLS handshake before (or after) the upgrade, no allocation made again.
        expect(accepted(stack)).toBe(acceptedBefore + 1 + connections)
        expect(allocationsMade(stack)).toBe(madeBefore + allocations)
        expect(p.steps).toContain('signalingOpen')
        expect(p.steps).toContain('dtlsConnected')
      } finally {
        await p.engine.release()
      }
    },
  )

  it('through a corporate CONNECT proxy: the kept connections are tunnels, and the join opens none', async () => {
    const httpProxy = { host: '127.0.0.1', port: corporate.port, username: 'desk', password: 'pw' }
    const steps: JoinStep[] = []
    const p = makePeer(stack, 408, TransportType.TCPProxy, {
      httpProxy,
      joinTimeline: (step) => steps.push(step),
    })
    try {
      const token = await stack.token('keep', 408)
      const madeBefore = allocationsMade(stack)
      expect(await p.engine.prepareJoin(token, 'keep', 408)).toBe(0)
      // The session request's tunnel, the kept signaling connection's and the TURN-over-TLS one's.
      await until(
        () => corporate.tunnels() === 3 && allocationsMade(stack) === madeBefore + 1,
        'the kept tunnels and allocation',
      )
      expect(await p.engine.joinChannel(token, 'keep', 408)).toBe(0)
      expect(p.engine.getConnectionState()).toBe(S.Connected)
      expect(corporate.tunnels()).toBe(3)
      expect(allocationsMade(stack)).toBe(madeBefore + 1)
      expect(steps).toContain('dtlsConnected')
    } finally {
      await p.engine.release()
    }
  })

  it('kept allocations count against the per-user quota: preparing again holds no more', async () => {
    const openBefore = allocationsOpen(quota)
    const token = await quota.token('keep', 420)
    // The same token prepared on three engines (one attacker, three join forms).
    const peers = [0, 1, 2].map(() => peer(quota, 420, TransportType.UDPProxy))
    try {
      for (const p of peers) expect(await p.engine.prepareJoin(token, 'keep', 420)).toBe(0)
      const refused = (): number => quota.proxyMetrics.snapshot().errors['486'] ?? 0
      await until(() => refused() >= 4, 'the second and third engines’ allocations refused (486)')
      expect(allocationsOpen(quota)).toBe(openBefore + 2)
    } finally {
      await Promise.all(peers.map((p) => p.engine.release()))
    }
    expect(allocationsOpen(quota)).toBe(openBefore)
  })

  it('414 keeps nothing: no connection, no allocation', async () => {
    const p = peer(stack, 407, TransportType.UDPProxy)
    try {
      const acceptedBefore = accepted(stack)
      const madeBefore = allocationsMade(stack)
      const token = await stack.token('keep', 0)
      expect(await p.engine.prepareJoin(token, 'keep', 0)).toBe(ErrorCode.RequestParameter)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(accepted(stack)).toBe(acceptedBefore)
      expect(allocationsMade(stack)).toBe(madeBefore)
    } finally {
      await p.engine.release()
    }
  })

  it('release and keepMs release the allocations and close the connection', async () => {
    const openBefore = allocationsOpen(stack)
    const tcpBefore = tcpOpen(stack)
    const a = peer(stack, 403, TransportType.TCPProxy)
    const b = peer(stack, 404, TransportType.UDPProxy, { keepMs: 1500 })
    try {
      expect(await a.engine.prepareJoin(await stack.token('keep', 403), 'keep', 403)).toBe(0)
      expect(await b.engine.prepareJoin(await stack.token('keep', 404), 'keep', 404)).toBe(0)
      await until(() => allocationsOpen(stack) === openBefore + 3, 'kept: 1 TLS + 2 UDP allocations')
      // a: its signaling and TURN connections; b: its signaling connection (sessions' ones closed).
      await until(() => tcpOpen(stack) === tcpBefore + 3, 'kept: three TCP connections')
      await a.engine.release()
      await until(() => allocationsOpen(stack) === openBefore + 2, 'release: a’s allocation released')
      await until(() => tcpOpen(stack) === tcpBefore + 1, 'release: a’s connections closed')
      // b's keepMs (1.5 s) ends: both allocations and its connection go, with no leave or release.
      await until(() => allocationsOpen(stack) === openBefore, 'keepMs: b’s allocations released', 5000)
      await until(() => tcpOpen(stack) === tcpBefore, 'keepMs: b’s connection closed', 5000)
    } finally {
      await a.engine.release()
      await b.engine.release()
    }
  })

  it('another prepareJoin, or a join for something else, releases what was kept', async () => {
    const openBefore = allocationsOpen(stack)
    const madeBefore = allocationsMade(stack)
    const p = peer(stack, 410, TransportType.UDPProxy)
    try {
      expect(await p.engine.prepareJoin(await stack.token('keep', 410), 'keep', 410)).toBe(0)
      await until(() => allocationsOpen(stack) === openBefore + 2, 'kept for 410')
      // The form now holds another uid: 410's allocations go, 411's are made.
      expect(await p.engine.prepareJoin(await stack.token('keep', 411), 'keep', 411)).toBe(0)
      await until(() => allocationsMade(stack) === madeBefore + 4, 'kept for 411')
      await until(() => allocationsOpen(stack) === openBefore + 2, '410’s released')
      // A join for 412 takes nothing of 411's and releases it; its own race leaves one allocation.
      expect(await p.engine.joinChannel(await stack.token('keep', 412), 'keep', 412)).toBe(0)
      await until(() => allocationsOpen(stack) === openBefore + 1, '411’s released, the join’s one left')
    } finally {
      await p.engine.release()
    }
  })

  it('Auto mode gone direct: the join releases what was kept, unused', async () => {
    const openBefore = allocationsOpen(stack)
    const tcpBefore = tcpOpen(stack)
    const p = makePeer(stack, 413, TransportType.Auto, { direct: { signalUrl: stack.sfuUrl } })
    try {
      expect(await p.engine.prepareJoin(await stack.token('keep', 413), 'keep', 413)).toBe(0)
      await until(() => allocationsOpen(stack) === openBefore + 2, 'kept: two UDP allocations')
      expect(await p.engine.joinChannel(await stack.token('keep', 413), 'keep', 413)).toBe(0)
      expect(p.proxyConnected).toEqual([]) // direct: no proxy at all
      await until(() => allocationsOpen(stack) === openBefore, 'the kept allocations released')
      await until(() => tcpOpen(stack) === tcpBefore, 'the kept connection closed')
    } finally {
      await p.engine.release()
    }
  })

  it('a kept connection the proxy closed is replaced, and the join takes the replacement', async () => {
    // The proxy closes the kept connection after 1.5 s without a byte; the engine's own renewal (7 s by
    // default) is pushed out of the way, so only the replacement can keep one ready.
    const p = peer(short, 405, TransportType.UDPProxy, { reconnectMs: 60_000 })
    try {
      const token = await short.token('keep', 405)
      const acceptedBefore = accepted(short)
      const closedBefore = firstByteTimeouts(short)
      expect(await p.engine.prepareJoin(token, 'keep', 405)).toBe(0)
      await until(() => firstByteTimeouts(short) === closedBefore + 1, 'the proxy closed the kept one', 5000)
      await until(() => accepted(short) === acceptedBefore + 3, 'a replacement opened', 5000)
      expect(await p.engine.joinChannel(token, 'keep', 405)).toBe(0)
      expect(accepted(short)).toBe(acceptedBefore + 3)
    } finally {
      await p.engine.release()
    }
  })

  it('a kept connection the proxy closed young is not replaced in a loop, and not used: the join connects', async () => {
    const p = peer(shorter, 409, TransportType.UDPProxy, { reconnectMs: 60_000 })
    try {
      const token = await shorter.token('keep', 409)
      const acceptedBefore = accepted(shorter)
      const closedBefore = firstByteTimeouts(shorter)
      expect(await p.engine.prepareJoin(token, 'keep', 409)).toBe(0)
      await until(() => firstByteTimeouts(shorter) === closedBefore + 1, 'the proxy closed the kept one')
      await new Promise((resolve) => setTimeout(resolve, 700))
      // The session request's and the kept one: nothing reopened after a close that came so soon.
      expect(accepted(shorter)).toBe(acceptedBefore + 2)
      expect(await p.engine.joinChannel(token, 'keep', 409)).toBe(0)
      expect(p.engine.getConnectionState()).toBe(S.Connected)
      // The join made its own signaling connection.
      expect(accepted(shorter)).toBe(acceptedBefore + 3)
    } finally {
      await p.engine.release()
    }
  })

  it('renewed before the proxy’s deadline: the proxy never closes one for its first byte', async () => {
    const p = peer(short, 406, TransportType.UDPProxy, { reconnectMs: 400 })
    try {
      const token = await short.token('keep', 406)
      const acceptedBefore = accepted(short)
      const closedBefore = firstByteTimeouts(short)
      expect(await p.engine.prepareJoin(token, 'keep', 406)).toBe(0)
      // Past the proxy's 1.5 s deadline: several renewals, each open before the last one closed.
      await until(() => accepted(short) >= acceptedBefore + 6, 'renewals', 8000)
      expect(firstByteTimeouts(short)).toBe(closedBefore)
      const atJoin = accepted(short)
      expect(await p.engine.joinChannel(token, 'keep', 406)).toBe(0)
      // At most a renewal that was already under way; the join itself opened none.
      expect(accepted(short)).toBeLessThanOrEqual(atJoin + 1)
      expect(firstByteTimeouts(short)).toBe(closedBefore)
    } finally {
      await p.engine.release()
    }
  })
})
