/**
 * Server-initiated rejoin (issue 14 item 4, docs/scaling.md "Drain"): three engines in a call through the
 * cloud proxy with a real ConferenceServer on loopback; the server moves every participant
 * (`ConferenceServer.moveAll`: `rejoin`, close 4007). Each engine goes Reconnecting (reDispatch), takes a
 * fresh session, joins again and is Connected (rejoinSucceed) — never Failed, never kicked — with video
 * flowing again, checked byte for byte. One node here, so they come back to the same server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffPolicy } from '../../src/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { checkedFramesFrom, makePeer, until, type Peer } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 })
})
afterAll(() => stack?.close())

const received = (to: Peer, from: Peer): number => to.video.filter((f) => f.uid === from.uid).length

describe('server-initiated rejoin', () => {
  it('moveAll: every engine goes Reconnecting (reDispatch) → Connected (rejoinSucceed), video again', async () => {
    const modes = [TransportType.UDPProxy, TransportType.TCPProxy, TransportType.UDPProxy]
    const peers = modes.map((mode, i) =>
      makePeer(stack, 71 + i, mode, {
        call: { reconnect: backoffPolicy({ baseDelayMs: 100, maxDelayMs: 500, budgetMs: 20_000 }) },
      }),
    )
    try {
      for (const peer of peers) {
        expect(await peer.engine.joinChannel(await stack.token('moved', peer.uid), 'moved', peer.uid)).toBe(0)
      }
      peers.forEach((p) => p.startMedia())
      const pairs = peers.flatMap((to) => peers.filter((from) => from !== to).map((from) => [to, from]))
      await until(
        () => pairs.every(([to, from]) => received(to!, from!) >= 5),
        'video before the move',
        15_000,
      )
      const before = pairs.map(([to, from]) => received(to!, from!))

      expect(stack.sfu.moveAll()).toBe(3)

      for (const peer of peers) {
        await until(
          () => peer.states.at(-1)?.[1] === R.RejoinSucceed || peer.states.at(-1)?.[0] === S.Failed,
          `uid ${peer.uid} Connected again`,
          20_000,
        )
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
      await until(
        () => pairs.every(([to, from], i) => received(to!, from!) >= before[i]! + 10),
        'video again after the move',
        15_000,
      )
      for (const [to, from] of pairs) checkedFramesFrom(to!, from!)
      // They came back as new participants of a new channel, everyone present.
      const channel = stack.sfu.channels().find((c) => c.name === 'moved')
      expect(channel?.participants.map((p) => p.uid).sort()).toEqual([71, 72, 73])
    } finally {
      peers.forEach((p) => p.stopMedia())
      await Promise.all(peers.map((p) => p.engine.release()))
    }
  })
})
