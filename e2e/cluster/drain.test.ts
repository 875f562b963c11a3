/**
 * Drain with move (issue 14 acceptance 3, docs/scaling.md "Drain"): real Redis, two conference node
 * processes and a proxy process; three engines in one call through the proxy. SIGTERM on the node holding
 * the call: Redis marks it draining at once; a new channel joined meanwhile goes to the other node, a late
 * joiner of the call joins it on the draining node (the call stays whole); the call goes on where it is
 * until `cluster.drainMoveAfterMs`, then the node releases its channels and moves its
 * participants (`rejoin`): each engine goes Reconnecting (reDispatch) → Connected (rejoinSucceed) on the
 * other node before the drain deadline, never Failed, video flowing again (checked byte for byte); the
 * node exits 0 and Redis no longer lists it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffPolicy } from '../../src/engine'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { checkedFramesFrom, makePeer, until, type Peer } from '../engine/harness'
import { waitFor } from '../support/tools'
import { startClusterLab, type ClusterLab } from './clusterLab'

const MOVE_AFTER_MS = 10_000
const DRAIN_TIMEOUT_MS = 40_000

let lab: ClusterLab
beforeAll(async () => {
  lab = await startClusterLab({
    nodes: 2,
    heartbeatMs: 250,
    ttlMs: 2000,
    drainMoveAfterMs: MOVE_AFTER_MS,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
  })
}, 120_000)
afterAll(() => lab?.close(), 60_000)

const received = (to: Peer, from: Peer): number => to.video.filter((f) => f.uid === from.uid).length
const reconnect = { reconnect: backoffPolicy({ baseDelayMs: 100, maxDelayMs: 500, budgetMs: 30_000 }) }

describe('a conference node drained (SIGTERM)', () => {
  it('no new channels there, the call goes on, then moves to the other node: Connected (rejoinSucceed), exit 0', async () => {
    const modes = [TransportType.UDPProxy, TransportType.TCPProxy, TransportType.UDPProxy]
    const peers = modes.map((mode, i) => makePeer(lab, 91 + i, mode, { call: reconnect }))
    const newcomer = makePeer(lab, 99, TransportType.UDPProxy, { call: reconnect })
    const late = makePeer(lab, 94, TransportType.TCPProxy, { call: reconnect })
    try {
      for (const peer of peers) {
        expect(await peer.engine.joinChannel(await lab.token('drain', peer.uid), 'drain', peer.uid)).toBe(0)
      }
      peers.forEach((p) => p.startMedia())
      const pairs = peers.flatMap((to) =>
        peers.filter((from) => from !== to).map((from) => [to!, from!] as const),
      )
      await until(
        () => pairs.every(([to, from]) => received(to, from) >= 5),
        'video before the drain',
        20_000,
      )
      const holderId = await lab.holder('drain')
      const draining = lab.nodes.find((n) => n.id === holderId)
      const other = lab.nodes.find((n) => n.id !== holderId)!
      expect(draining, `the channel's holder ${holderId}`).toBeDefined()

      const termAt = Date.now()
      process.kill(draining!.process.pid, 'SIGTERM')
      // The call goes on where it is for now.
      const during = pairs.map(([to, from]) => received(to, from))
      await until(
        () => pairs.every(([to, from], i) => received(to, from) >= during[i]! + 5),
        'video during the drain',
        MOVE_AFTER_MS,
      )
      expect(peers.map((p) => p.states.length)).toEqual([3, 3, 3])
      await waitFor(
        async () => (await lab.reader.node(draining!.id))?.draining === true,
        'draining in Redis',
        5000,
      )

      // New channels go elsewhere; a late joiner of the call joins it where it is (the call stays whole).
      const [fresh, joinedLate] = await Promise.all([
        lab.token('fresh', 99).then((token) => newcomer.engine.joinChannel(token, 'fresh', 99)),
        lab.token('drain', 94).then((token) => late.engine.joinChannel(token, 'drain', 94)),
      ])
      expect([fresh, joinedLate]).toEqual([0, 0])
      expect(await lab.holder('fresh')).toBe(other.id)
      expect(await lab.holder('drain')).toBe(draining!.id)

      const movedMs: number[] = []
      for (const peer of [...peers, late]) {
        await until(
          () => peer.states.at(-1)?.[1] === R.RejoinSucceed || peer.states.some(([s]) => s === S.Failed),
          `uid ${peer.uid} Connected on ${other.id}`,
          DRAIN_TIMEOUT_MS,
        )
        movedMs.push(Date.now() - termAt)
        const why = JSON.stringify({ uid: peer.uid, states: peer.states, errors: peer.errors })
        const after = peer.states.slice(3)
        expect(after[0], why).toEqual([S.Reconnecting, R.ReDispatch])
        expect(after.at(-1), why).toEqual([S.Connected, R.RejoinSucceed])
        expect(
          after.filter(([state]) => state === S.Failed || state === S.Disconnected),
          why,
        ).toEqual([])
        expect(peer.errors, why).toEqual([])
      }
      console.log(
        `SIGTERM → moved and Connected on ${other.id}: ${movedMs.join(' ms, ')} ms (move after ${MOVE_AFTER_MS} ms)`,
      )
      expect(await lab.holder('drain')).toBe(other.id)

      const before = pairs.map(([to, from]) => received(to, from))
      await until(
        () => pairs.every(([to, from], i) => received(to, from) >= before[i]! + 10),
        'video again on the other node',
        20_000,
      )
      for (const [to, from] of pairs) checkedFramesFrom(to, from)
      // The late joiner is in the same call on the new node: it sees the others.
      await until(() => peers.every((from) => received(late, from) >= 5), 'video to the late joiner', 20_000)
      for (const from of peers) checkedFramesFrom(late, from)

      // The drained node finished before its deadline and left Redis.
      expect(await draining!.process.exit()).toBe(0)
      expect((await lab.reader.status()).nodes.map((n) => n.id)).toEqual([other.id])
      expect(newcomer.states.at(-1)).toEqual([S.Connected, R.JoinSucceed])
    } finally {
      for (const peer of [...peers, newcomer, late]) peer.stopMedia()
      await Promise.all([...peers, newcomer, late].map((p) => p.engine.release()))
    }
  })
})
