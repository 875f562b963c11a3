/**
 * Issue 13 items 2 and 3, the transport: three engines in one channel through the cloud proxy, with a real
 * ConferenceServer and ProxyServer on loopback. A publishes its camera and a screen share (synthetic VP8
 * frames, e2e/engine/frames.ts; screen frames are numbered from SCREEN_BASE so a frame tells which track it
 * was pushed on); the others receive both, separately and byte for byte; a late joiner gets the share at
 * once; key frame requests reach the right track; display names reach everyone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCallStack, type CallStack } from '../support/callStack'
import { TransportType } from '../../src/shared/engine'
import type { VideoTrack } from '../../src/shared/mediaPort'
import { ErrorCode } from '../../src/shared/errors'
import { markerOf, VIDEO_FRAME_US, videoFrame } from './frames'
import { makePeer, until, type Peer } from './harness'
import { TestClient } from '../sfu/client'
import type { CreateEngineOptions } from '../../src/engine'

const SCREEN_BASE = 1_000_000

let stack: CallStack
beforeAll(async () => {
  stack = await startCallStack({ keyframeMinIntervalMs: 50 })
})
afterAll(() => stack?.close())

/** A peer that also records names, screen events and key frame requests by track, and can share a screen. */
interface Sharer extends Peer {
  names: Map<number, string | undefined>
  screenEvents: string[]
  keyFrameTracks: (VideoTrack | 'camera')[]
  sentScreen: Map<number, Uint8Array>
  startScreen(): void
  stopScreen(): void
}

function makeSharer(uid: number, options: Partial<CreateEngineOptions> = {}): Sharer {
  const peer = makePeer(stack, uid, TransportType.UDPProxy, options) as Sharer
  const { engine } = peer
  let timer: NodeJS.Timeout | undefined
  // Key frames only at the start and when asked: a late joiner's picture must come from its own request.
  let wantKey = true
  Object.assign(peer, {
    names: new Map(),
    screenEvents: [],
    keyFrameTracks: [],
    sentScreen: new Map(),
    startScreen() {
      let index = SCREEN_BASE
      timer = setInterval(() => {
        const keyframe = wantKey
        wantKey = false
        const data = videoFrame(uid, index, keyframe)
        const timestamp = (index - SCREEN_BASE) * VIDEO_FRAME_US * 3
        const frame = { data, timestamp, keyframe, track: 'screen' as const }
        if (engine.pushVideoFrame(frame) === 0) peer.sentScreen.set(index, data)
        index++
      }, 100)
    },
    stopScreen() {
      clearInterval(timer)
    },
  })
  engine.on('userJoined', (other, name) => peer.names.set(other, name))
  engine.on('userSubStreamVideoStart', (other) => peer.screenEvents.push(`start ${other}`))
  engine.on('userSubStreamVideoStop', (other) => peer.screenEvents.push(`stop ${other}`))
  engine.on('keyFrameRequested', (track) => {
    peer.keyFrameTracks.push(track ?? 'camera')
    if (track === 'screen') wantKey = true
  })
  return peer
}

/** `to`'s frames from `from` on one track, each checked byte for byte against what was pushed on it. */
function framesOn(to: Peer, from: Sharer, track: VideoTrack): number {
  const frames = to.video.filter((f) => f.uid === from.uid && (f.track ?? 'camera') === track)
  for (const frame of frames) {
    const { index } = markerOf(frame)!
    expect(index >= SCREEN_BASE, `frame ${index} on the ${track} track`).toBe(track === 'screen')
    const sent = track === 'screen' ? from.sentScreen : from.sentVideo
    expect(Buffer.from(frame.data).equals(Buffer.from(sent.get(index)!))).toBe(true)
  }
  return frames.length
}

async function screenTracks(): Promise<number> {
  const metric = (await stack.sfu.registry.getMetricsAsJSON()).find((m) => m.name === 'pinhole_sfu_tracks')
  return metric?.values.find((v) => v.labels.kind === 'screen')?.value ?? 0
}

async function joinAs(peer: Sharer, channel: string, displayName?: string): Promise<number> {
  const token = await stack.token(channel, peer.uid)
  return peer.engine.joinChannel(token, channel, peer.uid, displayName === undefined ? {} : { displayName })
}

describe('screen share through the conference server', () => {
  it('camera and screen arrive apart; a late joiner gets the share within 2 s; stopping tells everyone', async () => {
    const [a, b, c] = [makeSharer(11), makeSharer(12), makeSharer(13)]
    try {
      expect(await joinAs(a, 'share', '张三')).toBe(0)
      expect(await joinAs(b, 'share')).toBe(0)
      expect(a.engine.pushVideoFrame({ ...fakeFrame(), track: 'screen' })).toBe(ErrorCode.InvalidState)
      expect(a.engine.stopScreenCapture()).toBe(ErrorCode.InvalidState)
      a.startMedia()
      expect(a.engine.startScreenCapture()).toBe(0)
      expect(a.engine.startScreenCapture()).toBe(ErrorCode.InvalidState)
      a.startScreen()

      await until(
        () => framesOn(b, a, 'screen') >= 10 && framesOn(b, a, 'camera') >= 20,
        'both tracks',
        10_000,
      )
      expect(b.screenEvents).toEqual([`start ${a.uid}`])
      expect(b.video.find((f) => f.track === 'screen')?.keyFrame).toBe(true)
      expect(await screenTracks()).toBe(1)

      // C joins during the share: its subscription asks A's screen for a key frame (the sender only makes
      // one when asked), so the share shows within one negotiation and a PLI.
      const screenKeysBefore = a.keyFrameTracks.filter((t) => t === 'screen').length
      expect(await joinAs(c, 'share', 'Ωmega')).toBe(0)
      await until(() => framesOn(c, a, 'screen') >= 1, 'the late joiner sees the share', 2000)
      expect(c.video.find((f) => f.track === 'screen')?.keyFrame).toBe(true)
      expect(a.keyFrameTracks.filter((t) => t === 'screen').length).toBeGreaterThan(screenKeysBefore)
      expect(c.screenEvents).toEqual([`start ${a.uid}`])

      expect(a.engine.stopScreenCapture()).toBe(0)
      a.stopScreen()
      await until(() => [b, c].every((p) => p.screenEvents.includes(`stop ${a.uid}`)), 'share stopped', 5000)
      expect(a.engine.pushVideoFrame({ ...fakeFrame(), track: 'screen' })).toBe(ErrorCode.InvalidState)
      // The camera goes on.
      const camera = framesOn(b, a, 'camera')
      await until(() => framesOn(b, a, 'camera') > camera + 5, 'camera after the share', 5000)
      for (let i = 0; i < 100 && (await screenTracks()) !== 0; i++) await sleep(50)
      expect(await screenTracks()).toBe(0)
    } finally {
      for (const peer of [a, b, c]) {
        peer.stopMedia()
        peer.stopScreen()
        await peer.engine.release()
      }
    }
  })

  it('a key frame request for the screen reaches the screen, the camera’s the camera (PLI and signaling)', async () => {
    const [a, b] = [makeSharer(21), makeSharer(22)]
    try {
      expect(await joinAs(a, 'keys')).toBe(0)
      expect(await joinAs(b, 'keys')).toBe(0)
      a.startMedia()
      a.engine.startScreenCapture()
      a.startScreen()
      await until(
        () => framesOn(b, a, 'screen') >= 5 && framesOn(b, a, 'camera') >= 15,
        'both tracks',
        10_000,
      )
      // Past the engine's 500 ms limit between two requests on one m-line (the first key frames' requests).
      await sleep(600)

      for (const track of ['screen', 'camera'] as const) {
        // Only the track asked for: a request on one m-line that came out as the other's would never
        // show up here. (Other requests may come meanwhile on a loaded machine: B's freeze detector.)
        const before = a.keyFrameTracks.length
        expect(b.engine.requestRemoteKeyFrame(a.uid, track)).toBe(0)
        await until(() => a.keyFrameTracks.slice(before).includes(track), `the ${track} key frame`, 3000)
      }
      expect(b.engine.requestRemoteKeyFrame(a.uid, 'window' as VideoTrack)).toBe(ErrorCode.RequestParameter)

      // The signaling message of clients that cannot send a PLI: its `kind` picks the track (the server
      // folds requests to one track within keyframeMinIntervalMs, 50 ms here, so one at a time).
      const raw = await TestClient.connect({
        url: `ws://127.0.0.1:${stack.sfu.port}/v1/signal`,
        token: await stack.token('keys', 29),
        channel: 'keys',
        uid: 29,
        publish: { audio: false, video: false },
        // Never answers, so none of its own subscriptions goes live and asks A for key frames.
        autoAnswer: false,
      })
      try {
        await raw.joined()
        for (const [kind, track] of [
          ['screen', 'screen'],
          ['video', 'camera'],
          [undefined, 'camera'],
        ] as const) {
          const before = a.keyFrameTracks.length
          raw.sendRaw({ v: 1, type: 'keyframeRequest', uid: a.uid, ...(kind ? { kind } : {}) })
          await until(() => a.keyFrameTracks.slice(before).includes(track), `keyframeRequest ${kind}`, 3000)
          await sleep(100)
        }
      } finally {
        raw.leave()
      }
      a.engine.stopScreenCapture()
      await until(() => b.screenEvents.includes(`stop ${a.uid}`), 'share stopped', 5000)
      await until(
        () => b.engine.requestRemoteKeyFrame(a.uid, 'screen') === ErrorCode.InvalidState,
        'no screen to ask',
        5000,
      )
    } finally {
      for (const peer of [a, b]) {
        peer.stopMedia()
        peer.stopScreen()
        await peer.engine.release()
      }
    }
  })
})

describe('statistics while a screen arrives', () => {
  it('screen frames are not counted as audio packets (the figures stay the camera’s and the microphone’s)', async () => {
    const options = { call: { statsIntervalMs: 300 } }
    const [a, b] = [makeSharer(41, options), makeSharer(42, options)]
    const audioPackets: number[] = []
    b.engine.on('rtcStats', (stats) => audioPackets.push(stats.rxAudioPackets ?? 0))
    try {
      expect(await joinAs(a, 'stats')).toBe(0)
      expect(await joinAs(b, 'stats')).toBe(0)
      // A shares a screen and sends nothing else: no audio at all.
      a.engine.startScreenCapture()
      a.startScreen()
      await until(() => framesOn(b, a, 'screen') >= 3, 'screen frames', 10_000)
      const reports = audioPackets.length
      await until(() => audioPackets.length >= reports + 2, 'two more statistics reports', 5000)
      expect(audioPackets.every((n) => n === 0)).toBe(true)
      expect(b.audio).toEqual([])
    } finally {
      for (const peer of [a, b]) {
        peer.stopScreen()
        await peer.engine.release()
      }
    }
  })
})

describe('display names through signaling', () => {
  it('reach the others, the late joiner included (NFC, Chinese); a refused name is 414 before anything', async () => {
    const [a, b, c, bad] = [makeSharer(31), makeSharer(32), makeSharer(33), makeSharer(34)]
    try {
      // "René" typed with a combining accent arrives precomposed.
      expect(await joinAs(a, 'names', ' Rene\u0301 ')).toBe(0)
      expect(await joinAs(b, 'names', '王小明')).toBe(0)
      expect(await joinAs(c, 'names')).toBe(0)
      await until(() => a.names.size === 2 && b.names.size === 2, 'userJoined everywhere', 5000)
      expect(c.names).toEqual(
        new Map([
          [a.uid, 'René'],
          [b.uid, '王小明'],
        ]),
      )
      expect(a.names).toEqual(
        new Map([
          [b.uid, '王小明'],
          [c.uid, undefined],
        ]),
      )
      expect(b.names).toEqual(
        new Map([
          [a.uid, 'René'],
          [c.uid, undefined],
        ]),
      )

      const joins = await sfuJoins()
      for (const displayName of ['', '   ', 'bell\u0007', 'x'.repeat(65), 'a\u202eb']) {
        expect(await joinAs(bad, 'names', displayName)).toBe(ErrorCode.RequestParameter)
      }
      expect(bad.states).toEqual([])
      expect(bad.proxyConnected).toEqual([])
      expect(await sfuJoins()).toBe(joins)
    } finally {
      for (const peer of [a, b, c, bad]) await peer.engine.release()
    }
  })
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function fakeFrame(): { data: Uint8Array; timestamp: number; keyframe: boolean } {
  return { data: videoFrame(1, 0, true), timestamp: 0, keyframe: true }
}

/** Join attempts the conference server saw, successful or refused. */
async function sfuJoins(): Promise<number> {
  const metrics = await stack.sfu.registry.getMetricsAsJSON()
  let total = 0
  for (const name of ['pinhole_sfu_joins_total', 'pinhole_sfu_join_failures_total']) {
    for (const value of metrics.find((m) => m.name === name)?.values ?? []) total += value.value
  }
  return total
}
