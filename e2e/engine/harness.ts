/** Engines on a CallStack, with everything they emit recorded, and a sender that acts like an encoder. */
import {
  type TransportType,
  type ConnectionReason,
  type ConnectionState,
  type EngineErrorInfo,
  type ProxyConnectedInfo,
  type RemoteFrame,
} from '../../src/shared/engine'
import { createEngine, type CreateEngineOptions, type Engine } from '../../src/engine'
import type { CallStack } from '../support/callStack'
import { expect } from 'vitest'
import { AUDIO_FRAME_US, audioFrame, markerOf, VIDEO_FRAME_US, videoFrame } from './frames'

export interface Peer {
  uid: number
  engine: Engine
  states: [ConnectionState, ConnectionReason][]
  proxyConnected: ProxyConnectedInfo[]
  users: string[]
  errors: EngineErrorInfo[]
  video: RemoteFrame[]
  audio: RemoteFrame[]
  keyFrameRequests: number
  joinMs: number[]
  /** joinChannel, userJoined and the first remote video frame, in the order they came. */
  order: string[]
  /** Frames pushed, by `uid:index`, for comparing what arrives. */
  sentVideo: Map<number, Uint8Array>
  sentAudio: Map<number, Uint8Array>
  startMedia(): void
  stopMedia(): void
}

export function makePeer(
  stack: Pick<CallStack, 'region'>,
  uid: number,
  mode: TransportType,
  options: Partial<CreateEngineOptions> = {},
): Peer {
  const engine = createEngine({ regions: [stack.region], ...options })
  engine.setRegion(stack.region.id)
  engine.setCloudProxy(mode)
  engine.enableLocalVideo(true)
  const timers: NodeJS.Timeout[] = []
  let wantKey = true
  const peer: Peer = {
    uid,
    engine,
    states: [],
    proxyConnected: [],
    users: [],
    errors: [],
    video: [],
    audio: [],
    keyFrameRequests: 0,
    joinMs: [],
    order: [],
    sentVideo: new Map(),
    sentAudio: new Map(),
    startMedia() {
      let v = 0
      let a = 0
      timers.push(
        setInterval(() => {
          const keyframe = wantKey || v % 60 === 0
          wantKey = false
          const data = videoFrame(uid, v, keyframe)
          if (engine.pushVideoFrame({ data, timestamp: v * VIDEO_FRAME_US, keyframe }) === 0)
            peer.sentVideo.set(v, data)
          v++
        }, 33),
        setInterval(() => {
          const data = audioFrame(uid, a)
          if (engine.pushAudioFrame({ data, timestamp: a * AUDIO_FRAME_US }) === 0)
            peer.sentAudio.set(a, data)
          a++
        }, 20),
      )
    },
    stopMedia() {
      timers.splice(0).forEach((t) => clearInterval(t))
    },
  }
  engine.on('connectionStateChanged', (state, reason) => peer.states.push([state, reason]))
  engine.on('proxyConnected', (info) => peer.proxyConnected.push(info))
  engine.on('joinChannel', (result, _channel, _uid, elapsedMs) => {
    peer.order.push(`joinChannel ${result}`)
    if (result === 0) peer.joinMs.push(elapsedMs)
  })
  engine.on('userJoined', (other) => {
    peer.users.push(`joined ${other}`)
    peer.order.push(`joined ${other}`)
  })
  engine.on('userLeft', (other, reason) => peer.users.push(`left ${other} ${reason}`))
  engine.on('userVideoStart', (other) => peer.users.push(`video ${other}`))
  engine.on('userAudioStart', (other) => peer.users.push(`audio ${other}`))
  engine.on('userVideoStop', (other) => peer.users.push(`video stop ${other}`))
  engine.on('userAudioStop', (other) => peer.users.push(`audio stop ${other}`))
  engine.on('error', (error) => peer.errors.push(error))
  engine.on('remoteVideoFrame', (frame) => {
    if (peer.video.length === 0) peer.order.push('first video')
    peer.video.push(frame)
  })
  engine.on('remoteAudioFrame', (frame) => peer.audio.push(frame))
  engine.on('keyFrameRequested', () => {
    peer.keyFrameRequests++
    wantKey = true
  })
  return peer
}

/** Polls `check` every 20 ms until it is true. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The video frames `to` received from `from`, each checked byte for byte against what `from` sent. */
export function checkedFramesFrom(to: Peer, from: Peer): number {
  const frames = to.video.filter((f) => f.uid === from.uid)
  for (const frame of frames) {
    const marker = markerOf(frame)!
    expect(Buffer.from(frame.data).equals(Buffer.from(from.sentVideo.get(marker.index)!))).toBe(true)
  }
  return frames.length
}
