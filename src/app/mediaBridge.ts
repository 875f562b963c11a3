import type { Engine } from '../engine'
import type { RemoteFrame } from '../shared/engine'
import {
  MAX_MEDIA_FRAME_BYTES,
  parseMediaUp,
  type MediaDown,
  type SendTarget,
  type VideoTrack,
} from '../shared/mediaPort'

/**
 * Encoded media between the page and the engine (mediaPort.ts): MediaUp from the page is validated and
 * pushed into the engine; the engine's remote frames and key-frame requests go down as MediaDown with their
 * buffer transferred. Any MessagePort-like end works: Electron's MessagePortMain, Node's MessagePort
 * (tests), and the browser host's WebSocket pipe (src/webhost).
 */

/** One end of a media channel, as the bridge needs it. */
export interface MediaPortLike {
  /** `transfer` lists the buffers to move rather than copy (ignored where the port cannot transfer). */
  postMessage(message: MediaDown, transfer: ArrayBuffer[]): void
  /** Registers the message listener; the bridge calls it once. */
  onMessage(listener: (data: unknown) => void): void
  /** Called when the other end goes away. */
  onClose(listener: () => void): void
  close(): void
}

export type MediaEngine = Pick<
  Engine,
  'on' | 'off' | 'pushVideoFrame' | 'pushAudioFrame' | 'requestRemoteKeyFrame'
>

export interface MediaBridgeStats {
  /** MediaUp messages handed to the engine (and its result code 0). */
  pushed: { video: number; audio: number }
  /** Well-formed frames the engine refused (not in a call, that kind disabled): by result code. */
  refused: Record<number, number>
  /** The page's key-frame requests the engine took (result 0); the ones it refused count in `refused`. */
  remoteKeyFrameRequests: number
  /** Messages that were not a MediaUp: counted and dropped. */
  malformed: number
  sent: { video: number; audio: number; keyFrameRequests: number; sendTargets: number }
}

export interface MediaBridge {
  stats(): MediaBridgeStats
  /** Stops both directions and closes the port. Idempotent. */
  close(): void
  readonly closed: boolean
}

/** A copy in a fresh ArrayBuffer: never transfer (detach) memory the engine may still hold. */
function ownBuffer(data: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(data.byteLength)
  copy.set(data)
  return copy.buffer
}

/** One message from the page: a frame for the engine, or a key-frame request for a remote user's video. */
function handleUp(engine: MediaEngine, stats: MediaBridgeStats, raw: unknown): void {
  const message = parseMediaUp(raw)
  if (!message) {
    stats.malformed++
    return
  }
  if (message.kind === 'keyFrameRequest') {
    // The page's decoder failed on this user's video: the engine asks them for a key frame (PLI).
    const { uid, track } = message
    const result =
      track === undefined ? engine.requestRemoteKeyFrame(uid) : engine.requestRemoteKeyFrame(uid, track)
    if (result === 0) stats.remoteKeyFrameRequests++
    else stats.refused[result] = (stats.refused[result] ?? 0) + 1
    return
  }
  const data = new Uint8Array(message.data)
  const code =
    message.kind === 'video'
      ? engine.pushVideoFrame({
          data,
          timestamp: message.timestampUs,
          keyframe: message.keyFrame,
          // The engine writes it into the VP8 descriptor, for the conference server's layer forwarding.
          ...(message.temporalLayerId === undefined ? {} : { temporalLayerId: message.temporalLayerId }),
          // The screen share's frames go out on its own track (startScreenCapture).
          ...(message.track === undefined ? {} : { track: message.track }),
        })
      : engine.pushAudioFrame({ data, timestamp: message.timestampUs })
  if (code === 0) stats.pushed[message.kind]++
  else stats.refused[code] = (stats.refused[code] ?? 0) + 1
}

export function attachMediaBridge(engine: MediaEngine, port: MediaPortLike): MediaBridge {
  const stats: MediaBridgeStats = {
    pushed: { video: 0, audio: 0 },
    refused: {},
    remoteKeyFrameRequests: 0,
    malformed: 0,
    sent: { video: 0, audio: 0, keyFrameRequests: 0, sendTargets: 0 },
  }
  let closed = false

  const send = (message: MediaDown, transfer: ArrayBuffer[]): void => {
    if (closed) return
    try {
      port.postMessage(message, transfer)
    } catch {
      // The page went away between two frames: the close listener tidies up.
      bridge.close()
    }
  }
  const onVideo = (frame: RemoteFrame): void => {
    if (frame.data.byteLength > MAX_MEDIA_FRAME_BYTES) return
    const data = ownBuffer(frame.data)
    const { uid, timestampUs, keyFrame, track } = frame
    stats.sent.video++
    send({ kind: 'remoteVideo', uid, data, timestampUs, keyFrame, ...(track ? { track } : {}) }, [data])
  }
  const onAudio = (frame: RemoteFrame): void => {
    if (frame.data.byteLength > MAX_MEDIA_FRAME_BYTES) return
    const data = ownBuffer(frame.data)
    stats.sent.audio++
    send({ kind: 'remoteAudio', uid: frame.uid, data, timestampUs: frame.timestampUs }, [data])
  }
  const onKeyFrame = (track?: VideoTrack): void => {
    stats.sent.keyFrameRequests++
    send({ kind: 'keyFrameRequested', ...(track ? { track } : {}) }, [])
  }
  // The bandwidth estimate's target: the page's encoders follow it (docs/media.md "Bandwidth estimation").
  const onSendTarget = (target: SendTarget): void => {
    stats.sent.sendTargets++
    send({ kind: 'sendTarget', ...target }, [])
  }

  port.onMessage((raw) => {
    if (!closed) handleUp(engine, stats, raw)
  })
  port.onClose(() => bridge.close())
  engine.on('remoteVideoFrame', onVideo)
  engine.on('remoteAudioFrame', onAudio)
  engine.on('keyFrameRequested', onKeyFrame)
  engine.on('sendTargetChanged', onSendTarget)

  const bridge: MediaBridge = {
    stats: () => structuredClone(stats),
    get closed() {
      return closed
    },
    close() {
      if (closed) return
      closed = true
      engine.off('remoteVideoFrame', onVideo)
      engine.off('remoteAudioFrame', onAudio)
      engine.off('keyFrameRequested', onKeyFrame)
      engine.off('sendTargetChanged', onSendTarget)
      port.close()
    },
  }
  return bridge
}

/** Node's (and the DOM's) MessagePort: message events carry `data`; transfer lists move buffers. */
export interface NodeMessagePort {
  postMessage(value: unknown, transfer?: readonly ArrayBuffer[]): void
  on(event: 'message', listener: (value: unknown) => void): unknown
  on(event: 'close', listener: () => void): unknown
  close(): void
}

export function nodeMediaPort(port: NodeMessagePort): MediaPortLike {
  return {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    onMessage: (listener) => void port.on('message', listener),
    onClose: (listener) => void port.on('close', listener),
    close: () => port.close(),
  }
}
