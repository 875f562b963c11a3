/**
 * Issue 10 item 1, as desktops meet it: engines of two apps, all joining channel "board" through the cloud
 * proxy of one call stack whose proxy and conference server both accept apps `local` and `other`. They
 * make two calls that never meet: app other's uid 1 neither kicks app local's uid 1 nor sees or hears
 * anyone of app local, and frames cross only within an app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { startCallStack, type CallStack } from '../support/callStack'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { ErrorCode } from '../../src/shared/errors'
import { checkedFramesFrom, makePeer, until, type Peer } from './harness'

const LOCAL = { appKey: 'local', secret: 'local-secret-0123456789abcdef' }
const OTHER = { appKey: 'other', secret: 'other-secret-0123456789abcdef' }

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 }, 'apps', {}, [LOCAL, OTHER])
})
afterAll(() => stack?.close())

const tokenOf = (app: typeof LOCAL, channel: string, uid: number): Promise<string> =>
  mintJoinToken({ ...app, channel, uid, ttlSeconds: 120 })

async function joinBoard(peer: Peer, app: typeof LOCAL): Promise<void> {
  expect(await peer.engine.joinChannel(await tokenOf(app, 'board', peer.uid), 'board', peer.uid)).toBe(0)
  peer.startMedia()
}

const framesFrom = (to: Peer, uid: number): number => to.video.filter((f) => f.uid === uid).length

describe('two apps, one channel name, through the cloud proxy', () => {
  it('make two calls: presence, frames and uid 1 stay within each app', async () => {
    const localA = makePeer(stack, 1, TransportType.UDPProxy)
    const localB = makePeer(stack, 2, TransportType.TCPProxy)
    const otherA = makePeer(stack, 1, TransportType.TCPProxy)
    const otherC = makePeer(stack, 3, TransportType.UDPProxy)
    const peers = [localA, localB, otherA, otherC]
    try {
      // Arrange: app local's call, frames both ways.
      await joinBoard(localA, LOCAL)
      await joinBoard(localB, LOCAL)
      await until(() => framesFrom(localA, 2) >= 10 && framesFrom(localB, 1) >= 10, 'local frames', 8000)

      // Act: app other joins "board" with uid 1 and uid 3.
      await joinBoard(otherA, OTHER)
      await joinBoard(otherC, OTHER)

      // Assert: other's call works.
      const before = framesFrom(localA, 2)
      await until(() => framesFrom(otherA, 3) >= 10 && framesFrom(otherC, 1) >= 10, 'other frames', 8000)
      expect(checkedFramesFrom(otherA, otherC)).toBeGreaterThanOrEqual(10)

      // Assert: nobody was kicked, each knows only its own app's participants, frames stay within an app.
      for (const peer of peers) {
        expect(peer.states).toEqual([
          [S.Connecting, R.JoinChannel],
          [S.Connecting, R.SettingProxyServer],
          [S.Connected, R.JoinSucceed],
        ])
        expect(peer.errors).toEqual([])
      }
      expect(localA.users).toEqual(['joined 2', 'audio 2', 'video 2'])
      expect(localB.users).toEqual(['joined 1', 'audio 1', 'video 1'])
      expect(otherA.users).toEqual(['joined 3', 'audio 3', 'video 3'])
      expect(otherC.users).toEqual(['joined 1', 'audio 1', 'video 1'])
      expect(new Set(otherA.video.concat(otherA.audio).map((f) => f.uid))).toEqual(new Set([3]))

      // Assert: local's call went on meanwhile (A still gets B's new frames, and only B's).
      await until(() => framesFrom(localA, 2) >= before + 10, 'local frames go on', 8000)
      expect(checkedFramesFrom(localA, localB)).toBeGreaterThanOrEqual(before + 10)
      expect(new Set(localA.video.concat(localA.audio).map((f) => f.uid))).toEqual(new Set([2]))
      const view = stack.sfu.channels().map((c) => [c.appKey, c.name, c.participants.map((p) => p.uid)])
      expect(view.sort()).toEqual([
        ['local', 'board', [1, 2]],
        ['other', 'board', [1, 3]],
      ])
    } finally {
      peers.forEach((p) => p.stopMedia())
      await Promise.all(peers.map((p) => p.engine.release()))
    }
  }, 40_000)

  it('an app neither server knows is refused at the proxy (token invalid), nothing joins', async () => {
    const stranger = makePeer(stack, 5, TransportType.UDPProxy)
    try {
      const token = await tokenOf({ ...OTHER, appKey: 'stranger' }, 'board', 5)
      expect(await stranger.engine.joinChannel(token, 'board', 5)).toBe(ErrorCode.ProxySessionTokenInvalid)
      expect(stranger.errors.map((e) => e.code)).toEqual([ErrorCode.ProxySessionTokenInvalid])
      expect(JSON.stringify(stranger.errors)).toContain('app_unknown')
      expect(stack.sfu.channels().flatMap((c) => c.participants.map((p) => p.uid))).not.toContain(5)
    } finally {
      await stranger.engine.release()
    }
  })
})
