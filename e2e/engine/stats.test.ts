/**
 * Statistics in a real call (docs/engine.md "Statistics"): two engines through the proxy on loopback — one
 * on the UDP proxy, one on TLS 443 — push ~30 fps video and 50 Opus packets/s; each engine's `rtcStats`
 * must show non-zero bitrates both ways, frame rates within ±20 % of what is pushed, the transport and proxy
 * endpoint it uses, a round trip, and a `networkQuality` for its own uid; `remoteVideoStats` and a
 * `networkQuality` for the other user, whose frame rate matches what they push; and a key frame asked of
 * the other user (`requestRemoteKeyFrame`) reaches them as `keyFrameRequested`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCallStack, type CallStack } from '../support/callStack'
import {
  TransportType,
  type NetworkQuality,
  type RemoteVideoStats,
  type RtcStats,
} from '../../src/shared/engine'
import { ErrorCode } from '../../src/shared/errors'
import { makePeer, until, type Peer } from './harness'

const INTERVAL_MS = 1000

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 }, 'stats')
})
afterAll(() => stack?.close())

interface Recorded {
  stats: RtcStats[]
  quality: [number, NetworkQuality, NetworkQuality][]
  remote: RemoteVideoStats[][]
}

function record(peer: Peer): Recorded {
  const recorded: Recorded = { stats: [], quality: [], remote: [] }
  peer.engine.on('remoteVideoStats', (stats) => recorded.remote.push(stats))
  peer.engine.on('rtcStats', (stats) => recorded.stats.push(stats))
  peer.engine.on('networkQuality', (uid, tx, rx) => recorded.quality.push([uid, tx, rx]))
  return recorded
}

/** Frames per second pushed (accepted by the engine) over the last `ms`, from the push log. */
function pushedFps(pushes: number[], ms: number): number {
  const since = Date.now() - ms
  return pushes.filter((t) => t >= since).length / (ms / 1000)
}

describe('rtcStats in a two-engine call', () => {
  it('bitrates, frame rates matching what is pushed (±20 %), transport, proxy, RTT, networkQuality', async () => {
    const call = { statsIntervalMs: INTERVAL_MS }
    const a = makePeer(stack, 51, TransportType.UDPProxy, { call })
    const b = makePeer(stack, 52, TransportType.TCPProxy, { call })
    const ra = record(a)
    const rb = record(b)
    // The harness pushes from timers; log when each accepted video frame went in.
    const pushes = new Map<Peer, number[]>([
      [a, []],
      [b, []],
    ])
    for (const peer of [a, b]) {
      const push = peer.engine.pushVideoFrame.bind(peer.engine)
      peer.engine.pushVideoFrame = (frame) => {
        const code = push(frame)
        if (code === 0) pushes.get(peer)!.push(Date.now())
        return code
      }
    }
    try {
      expect(await a.engine.joinChannel(await stack.token('stats', 51), 'stats', 51)).toBe(0)
      expect(await b.engine.joinChannel(await stack.token('stats', 52), 'stats', 52)).toBe(0)
      a.startMedia()
      b.startMedia()
      // Let media settle (first key frames, subscriptions); the next report still straddles that, so the
      // two after it are the ones compared with what was pushed meanwhile.
      await until(() => a.video.length >= 10 && b.video.length >= 10, 'video both ways', 8000)
      const [fromA, fromB] = [ra.stats.length, rb.stats.length]
      await until(
        () => ra.stats.length >= fromA + 3 && rb.stats.length >= fromB + 3,
        'three more reports',
        6000,
      )
      const window = INTERVAL_MS * 2
      const sentA = pushedFps(pushes.get(a)!, window)
      const sentB = pushedFps(pushes.get(b)!, window)

      for (const [recorded, peer, sent, received, transport, port] of [
        [ra, a, sentA, sentB, 'udp', stack.region.ports.udp],
        [rb, b, sentB, sentA, 'tls', [stack.region.ports.tcp]],
      ] as const) {
        const last = recorded.stats.slice(-2)
        console.log(`${transport}: rtt to the proxy (TURN) ${last.map((s) => s.rttMs).join(', ')} ms`)
        const mean = (pick: (s: RtcStats) => number | undefined): number =>
          last.reduce((sum, s) => sum + (pick(s) ?? 0), 0) / last.length
        for (const stats of last) {
          expect(stats.transport).toBe(transport)
          const [host, proxyPort] = (stats.proxyAddress ?? '').split(':')
          expect(host).toBe(stack.region.proxyHost)
          expect(port).toContain(Number(proxyPort))
          expect(stats.txKbps).toBeGreaterThan(0)
          expect(stats.rxKbps).toBeGreaterThan(0)
          expect(stats.txAudioPackets).toBeGreaterThan(0)
          expect(stats.rxAudioPackets).toBeGreaterThan(0)
          // The round trip to the proxy itself: a TURN Refresh over media's own TURN connection.
          expect(stats.rttSource).toBe('turn')
          expect(stats.rttMs).toBeGreaterThan(0)
          expect(stats.rxPacketLoss).toBeLessThan(0.05)
          expect(stats.intervalMs).toBeGreaterThanOrEqual(INTERVAL_MS)
        }
        expect(
          mean((s) => s.txVideoFps),
          `${peer.uid} tx fps vs ${sent.toFixed(1)} pushed`,
        ).toBeGreaterThan(sent * 0.8)
        expect(mean((s) => s.txVideoFps)).toBeLessThan(sent * 1.2)
        expect(
          mean((s) => s.rxVideoFps),
          `${peer.uid} rx fps vs ${received.toFixed(1)} pushed`,
        ).toBeGreaterThan(received * 0.8)
        expect(mean((s) => s.rxVideoFps)).toBeLessThan(received * 1.2)
        const [, tx, rx] = recorded.quality.filter(([uid]) => uid === peer.uid).at(-1)!
        expect(tx).toBeGreaterThanOrEqual(1)
        expect(tx).toBeLessThanOrEqual(3)
        expect(rx).toBeGreaterThanOrEqual(1)
        expect(rx).toBeLessThanOrEqual(3)

        // The other user's video, as it reaches this engine.
        const other = peer === a ? b : a
        const remote = recorded.remote.slice(-2).map((list) => list.find((s) => s.uid === other.uid))
        for (const stats of remote) {
          expect(stats, `${peer.uid}: remoteVideoStats of ${other.uid}`).toBeDefined()
          expect(stats!.rxKbps).toBeGreaterThan(0)
          expect(stats!.packetLoss).toBeLessThan(0.05)
          expect(stats!.freezeCount).toBe(0)
        }
        const remoteFps = remote.reduce((sum, s) => sum + s!.rxFps, 0) / remote.length
        expect(remoteFps, `${peer.uid} rx fps of ${other.uid}`).toBeGreaterThan(received * 0.8)
        expect(remoteFps).toBeLessThan(received * 1.2)
        const [, otherTx, otherRx] = recorded.quality.filter(([uid]) => uid === other.uid).at(-1)!
        expect(otherTx).toBeGreaterThanOrEqual(1)
        expect(otherTx).toBeLessThanOrEqual(3)
        expect(otherRx).toBe(0)
      }

      // A key frame asked of the other user (the renderer's decoder failed) reaches their engine.
      const before = a.keyFrameRequests
      expect(b.engine.requestRemoteKeyFrame(a.uid)).toBe(0)
      await until(() => a.keyFrameRequests > before, 'keyFrameRequested at A', 5000)
      expect(b.engine.requestRemoteKeyFrame(4040)).toBe(ErrorCode.InvalidState)

      // A turns the camera off: B's reports stop listing A, with no freeze counted for the silence.
      const freezesOfA = (): number[] =>
        rb.remote.flat().flatMap((s) => (s.uid === a.uid ? [s.freezeCount] : []))
      const freezesBefore = freezesOfA().at(-1)
      a.stopMedia()
      expect(a.engine.enableLocalVideo(false)).toBe(0)
      const reportsBefore = rb.remote.length
      await until(() => rb.remote.length >= reportsBefore + 2, 'two reports after the camera went off', 6000)
      expect(rb.remote.at(-1)!.find((s) => s.uid === a.uid)).toBeUndefined()
      expect(freezesOfA().at(-1)).toBe(freezesBefore)
      expect(b.engine.requestRemoteKeyFrame(a.uid)).toBe(ErrorCode.InvalidState)

      // Leaving stops the reports.
      a.stopMedia()
      b.stopMedia()
      expect(await b.engine.leaveChannel()).toBe(0)
      const after = rb.stats.length
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 1.5))
      expect(rb.stats.length).toBe(after)
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  })
})
