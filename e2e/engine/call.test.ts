/**
 * Issue 4: two engines in one channel through the cloud proxy, as two desktops behind the whitelist — one
 * on the UDP proxy (TURN over UDP 3478/7070), one on the TCP proxy (TURN over TLS 443) — with a real
 * ConferenceServer and ProxyServer in this process on loopback. Frames are synthetic (e2e/engine/frames.ts)
 * and compared byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffPolicy } from '../../src/engine'
import { startCallStack, type CallStack } from '../support/callStack'
import { ConnectionReason as R, ConnectionState as S, TransportType } from '../../src/shared/engine'
import { ErrorCode } from '../../src/shared/errors'
import { markerOf, VIDEO_FRAME_US } from './frames'
import { makePeer, until, type Peer } from './harness'

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 })
})
afterAll(() => stack?.close())

async function joins(on: CallStack, resumed: 'true' | 'false'): Promise<number> {
  const metric = (await on.sfu.registry.getMetricsAsJSON()).find((m) => m.name === 'pinhole_sfu_joins_total')
  return metric?.values.find((v) => v.labels.resumed === resumed)?.value ?? 0
}

/** Every frame `to` received from `from` is one `from` sent, byte for byte; returns how many. */
function checkFrames(to: Peer, from: Peer): { video: number; audio: number } {
  for (const [kind, frames, sent] of [
    ['video', to.video, from.sentVideo],
    ['audio', to.audio, from.sentAudio],
  ] as const) {
    for (const frame of frames.filter((f) => f.uid === from.uid)) {
      const marker = markerOf(frame)
      expect(marker?.uid, `${kind} frame from ${from.uid}`).toBe(from.uid)
      expect(Buffer.from(frame.data).equals(Buffer.from(sent.get(marker!.index)!))).toBe(true)
    }
  }
  return {
    video: to.video.filter((f) => f.uid === from.uid).length,
    audio: to.audio.filter((f) => f.uid === from.uid).length,
  }
}

describe('two engines through the cloud proxy', () => {
  it('UDP and TLS 443: Connected, presence, frames intact both ways, key frame requests, leave', async () => {
    const a = makePeer(stack, 1, TransportType.UDPProxy)
    const b = makePeer(stack, 2, TransportType.TCPProxy)
    try {
      expect(await a.engine.joinChannel(await stack.token('call', 1), 'call', 1)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token('call', 2), 'call', 2)).toBe(0)
      for (const peer of [a, b]) {
        expect(peer.states).toEqual([
          [S.Connecting, R.JoinChannel],
          [S.Connecting, R.SettingProxyServer],
          [S.Connected, R.JoinSucceed],
        ])
      }
      expect(a.proxyConnected.map((i) => i.transport)).toEqual(['udp'])
      expect(b.proxyConnected.map((i) => i.transport)).toEqual(['tls'])
      a.startMedia()
      b.startMedia()

      await until(
        () => [a, b].every((p) => p.video.length >= 20 && p.audio.length >= 30),
        'frames both ways',
        8000,
      )
      const ab = checkFrames(b, a)
      const ba = checkFrames(a, b)
      expect(Math.min(ab.video, ba.video)).toBeGreaterThanOrEqual(20)
      expect(Math.min(ab.audio, ba.audio)).toBeGreaterThanOrEqual(30)
      // Each starts on a key frame; spacing is the sender's (90 kHz ticks, so within 11 µs).
      for (const peer of [a, b]) {
        expect(peer.video[0]!.keyFrame).toBe(true)
        const [first, second] = peer.video
        const sent = markerOf(second!)!.index - markerOf(first!)!.index
        expect(Math.abs(second!.timestampUs - first!.timestampUs - sent * VIDEO_FRAME_US)).toBeLessThan(12)
      }
      // A new subscriber makes the server ask the publisher for a key frame (PLI → keyFrameRequested).
      expect(a.keyFrameRequests).toBeGreaterThan(0)
      // Users already in the channel and their frames come after the join is reported.
      expect(b.order.slice(0, 3)).toEqual(['joinChannel 0', 'joined 1', 'first video'])
      expect(a.users).toEqual(['joined 2', 'audio 2', 'video 2'])
      expect(b.users).toEqual(['joined 1', 'audio 1', 'video 1'])

      // B stops and restarts its video in the call: A is told, resubscribes, and B is asked for a key frame.
      const requests = b.keyFrameRequests
      expect(b.engine.enableLocalVideo(false)).toBe(0)
      await until(() => a.users.includes('video stop 2'), 'userVideoStop at A')
      expect(b.engine.enableLocalVideo(true)).toBe(0)
      await until(() => a.users.at(-1) === 'video 2', 'userVideoStart at A')
      await until(() => b.keyFrameRequests > requests, 'keyFrameRequested at B')
      const received = a.video.length
      await until(() => a.video.length >= received + 5, 'B video again')
      checkFrames(a, b)

      b.stopMedia()
      expect(await b.engine.leaveChannel()).toBe(0)
      expect(b.states.at(-1)).toEqual([S.Disconnected, R.LeaveChannel])
      await until(() => a.users.includes(`left 2 ${R.LeaveChannel}`), 'userLeft at A')
      expect(a.errors).toEqual([])
      expect(b.errors).toEqual([])
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  })

  it('signaling lost mid-call: Reconnecting (signalDisconnected), resumed, Connected (rejoinSucceed); media goes on', async () => {
    const a = makePeer(stack, 11, TransportType.UDPProxy)
    const b = makePeer(stack, 12, TransportType.UDPProxy)
    try {
      expect(await a.engine.joinChannel(await stack.token('lost', 11), 'lost', 11)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token('lost', 12), 'lost', 12)).toBe(0)
      a.startMedia()
      await until(() => b.video.length >= 5, 'video before the cut')
      expect(stack.cutSignaling()).toBeGreaterThanOrEqual(2)
      await until(() => a.states.length >= 5 && b.states.length >= 5, 'both rejoined', 8000)
      for (const peer of [a, b]) {
        expect(peer.states.slice(3)).toEqual([
          [S.Reconnecting, R.SignalDisconnected],
          [S.Connected, R.RejoinSucceed],
        ])
      }
      const before = b.video.length
      await until(() => b.video.length >= before + 5, 'video after the rejoin')
      checkFrames(b, a)
      expect(await joins(stack, 'true')).toBe(2)
      // A resume: nobody saw anybody leave.
      expect(a.users.concat(b.users).filter((u) => u.startsWith('left'))).toEqual([])
    } finally {
      a.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  })

  it('signaling down past the server grace: a full rejoin with a new PeerConnection, media flows again', async () => {
    const short = await startCallStack({ reconnectGraceMs: 200, keyframeMinIntervalMs: 50 }, 'short')
    const a = makePeer(short, 31, TransportType.UDPProxy)
    const b = makePeer(short, 32, TransportType.TCPProxy)
    try {
      expect(await a.engine.joinChannel(await short.token('grace', 31), 'grace', 31)).toBe(0)
      expect(await b.engine.joinChannel(await short.token('grace', 32), 'grace', 32)).toBe(0)
      a.startMedia()
      await until(() => b.video.length >= 5, 'video before the cut')
      short.cutSignaling(700)
      await until(() => [a, b].every((p) => p.states.length >= 5), 'both rejoined', 10_000)
      for (const peer of [a, b]) {
        expect(peer.states.slice(3)).toEqual([
          [S.Reconnecting, R.SignalDisconnected],
          [S.Connected, R.RejoinSucceed],
        ])
      }
      const before = b.video.length
      await until(() => b.video.length >= before + 5, 'video after the rejoin', 5000)
      checkFrames(b, a)
      // Two first joins and two full rejoins (no resume: the server had let both participants go).
      expect(await joins(short, 'false')).toBe(4)
      expect(await joins(short, 'true')).toBe(0)
    } finally {
      a.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
      await short.close()
    }
  })

  it('signaling down past the reconnect budget: Failed (timeout) with ReconnectTimeout; leave → Disconnected', async () => {
    const own = await startCallStack({}, 'budget')
    const reconnect = backoffPolicy({ baseDelayMs: 100, budgetMs: 400 })
    const a = makePeer(own, 41, TransportType.TCPProxy, { call: { reconnect } })
    try {
      expect(await a.engine.joinChannel(await own.token('budget', 41), 'budget', 41)).toBe(0)
      own.cutSignaling(5000)
      await until(() => a.states.length >= 5, 'gave up', 5000)
      expect(a.states.slice(3)).toEqual([
        [S.Reconnecting, R.SignalDisconnected],
        [S.Failed, R.Timeout],
      ])
      expect(a.errors.map((e) => e.code)).toEqual([ErrorCode.ReconnectTimeout])
      expect(await a.engine.leaveChannel()).toBe(0)
      expect(a.states.at(-1)).toEqual([S.Disconnected, R.LeaveChannel])
    } finally {
      await a.engine.release()
      await own.close()
    }
  })

  it('the same uid joining elsewhere: the first engine is kicked (Disconnected, serverKicked, Kicked)', async () => {
    const first = makePeer(stack, 21, TransportType.TCPProxy)
    const second = makePeer(stack, 21, TransportType.UDPProxy)
    try {
      expect(await first.engine.joinChannel(await stack.token('kick', 21), 'kick', 21)).toBe(0)
      expect(await second.engine.joinChannel(await stack.token('kick', 21), 'kick', 21)).toBe(0)
      await until(() => first.states.length === 4, 'kicked')
      expect(first.states.at(-1)).toEqual([S.Disconnected, R.ServerKicked])
      expect(first.errors.map((e) => e.code)).toEqual([ErrorCode.Kicked])
    } finally {
      await Promise.all([first.engine.release(), second.engine.release()])
    }
  })
})
