/**
 * Node failure (issue 14 acceptance 2, docs/scaling.md "Failure cases"): real Redis, two conference node
 * processes and a proxy process; three engines in one call through the proxy. SIGKILL on the node holding
 * the call: every engine goes Reconnecting and comes back Connected (rejoinSucceed) on the other node —
 * never Failed — with video flowing again, checked byte for byte; Redis lists neither the dead node nor a
 * channel on it. The wait is bounded by the node TTL + 5 s (and a margin for a loaded machine); the time
 * it took is printed, not asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffPolicy } from '../../src/engine'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { checkedFramesFrom, makePeer, until, type Peer } from '../engine/harness'
import { waitFor } from '../support/tools'
import { startClusterLab, type ClusterLab } from './clusterLab'

const TTL_MS = 2000
/** TTL + 5 s is the acceptance's bound; the margin keeps a machine running eight other test suites honest. */
const BACK_WITHIN_MS = TTL_MS + 5000 + 20_000

let lab: ClusterLab
beforeAll(async () => {
  lab = await startClusterLab({ nodes: 2, heartbeatMs: 250, ttlMs: TTL_MS })
}, 120_000)
afterAll(() => lab?.close(), 60_000)

const received = (to: Peer, from: Peer): number => to.video.filter((f) => f.uid === from.uid).length

describe('a conference node killed mid-call', () => {
  it('SIGKILL: the three engines are Connected again on the other node, video flows, Redis forgets the node', async () => {
    const modes = [TransportType.UDPProxy, TransportType.TCPProxy, TransportType.UDPProxy]
    const peers = modes.map((mode, i) =>
      makePeer(lab, 81 + i, mode, {
        call: { reconnect: backoffPolicy({ baseDelayMs: 100, maxDelayMs: 500, budgetMs: 60_000 }) },
      }),
    )
    try {
      for (const peer of peers) {
        expect(await peer.engine.joinChannel(await lab.token('fail', peer.uid), 'fail', peer.uid)).toBe(0)
      }
      peers.forEach((p) => p.startMedia())
      const pairs = peers.flatMap((to) =>
        peers.filter((from) => from !== to).map((from) => [to!, from!] as const),
      )
      await until(() => pairs.every(([to, from]) => received(to, from) >= 5), 'video before the kill', 20_000)
      const holderId = await lab.holder('fail')
      const dead = lab.nodes.find((n) => n.id === holderId)
      const live = lab.nodes.find((n) => n.id !== holderId)!
      expect(dead, `the channel's holder ${holderId}`).toBeDefined()
      const before = pairs.map(([to, from]) => received(to, from))

      const killedAt = Date.now()
      process.kill(dead!.process.pid, 'SIGKILL')

      const backMs: number[] = []
      for (const peer of peers) {
        await until(
          () => peer.states.at(-1)?.[1] === R.RejoinSucceed || peer.states.some(([s]) => s === S.Failed),
          `uid ${peer.uid} Connected again`,
          BACK_WITHIN_MS,
        )
        backMs.push(Date.now() - killedAt)
        const why = JSON.stringify({ uid: peer.uid, states: peer.states, errors: peer.errors })
        const after = peer.states.slice(3)
        expect(after[0]?.[0], why).toBe(S.Reconnecting)
        expect(after.at(-1), why).toEqual([S.Connected, R.RejoinSucceed])
        expect(
          after.filter(([state]) => state === S.Failed || state === S.Disconnected),
          why,
        ).toEqual([])
      }
      console.log(`SIGKILL → Connected on ${live.id}: ${backMs.join(' ms, ')} ms (node TTL ${TTL_MS} ms)`)

      await until(
        () => pairs.every(([to, from], i) => received(to, from) >= before[i]! + 10),
        'video again on the other node',
        20_000,
      )
      for (const [to, from] of pairs) checkedFramesFrom(to, from)

      expect(await lab.holder('fail')).toBe(live.id)
      // The dead node's key outlives it by at most its TTL.
      await waitFor(
        async () => (await lab.reader.status()).nodes.every((n) => n.id !== dead!.id),
        'the dead node gone from Redis',
        TTL_MS + 5000,
      )
      expect((await lab.reader.status()).nodes.map((n) => n.id)).toEqual([live.id])
      const placed = await lab.reader.placedChannels()
      expect(placed.filter((p) => p.nodeId === dead!.id)).toEqual([])
    } finally {
      peers.forEach((p) => p.stopMedia())
      await Promise.all(peers.map((p) => p.engine.release()))
    }
  })
})
