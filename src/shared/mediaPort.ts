/**
 * Encoded media between the renderer and the engine host. Not on the invoke/event channels: after
 * `connectMedia()`, the host posts one MessagePort to the page with
 * `window.postMessage({ type: MEDIA_PORT_MESSAGE }, '*', [port])` — the Electron preload forwards the port
 * main sent it, the browser host's bridge makes one in the page and pipes it over its WebSocket — so the
 * renderer takes its port the same way in every host. Buffers are transferred, never copied. zod-free: the
 * preload bundle and the web bridge import this file.
 */

export const MEDIA_PORT_MESSAGE = 'pinhole:media-port'

/**
 * Which video a frame belongs to: the camera, or a shared screen/window (NERTC's "sub stream"; issue 13).
 * Absent on a message means `camera`, so every sender and receiver written before screen sharing still works.
 */
export type VideoTrack = 'camera' | 'screen'

/** A VP8 temporal layer (L1T3: 0 base, 1 and 2 enhancement), from WebCodecs `metadata.svc.temporalLayerId`. */
export type TemporalLayerId = 0 | 1 | 2

/**
 * Renderer → engine: the bytes of one WebCodecs EncodedVideoChunk / EncodedAudioChunk, or a request for a key
 * frame of one remote user's video (the renderer's decoder failed or froze: docs/media.md "Recovery").
 * `temporalLayerId` is absent when the encoder runs without temporal layers.
 */
export type MediaUp =
  | {
      kind: 'video'
      data: ArrayBuffer
      timestampUs: number
      keyFrame: boolean
      temporalLayerId?: TemporalLayerId
      track?: VideoTrack
    }
  | { kind: 'audio'; data: ArrayBuffer; timestampUs: number }
  | { kind: 'keyFrameRequest'; uid: number; track?: VideoTrack }

/**
 * What the engine's bandwidth estimate allows the renderer to send (docs/media.md): the whole media budget in
 * bit/s (audio + video + packet overhead: the renderer splits it), the loss the receiver reports (0..1, for
 * Opus FEC) and the round trip when known.
 */
export type SendTarget = {
  bitrateBps: number
  lossFraction: number
  rttMs?: number
}

/**
 * Engine → renderer: remote frames (RemoteFrame of engine.ts), the engine's keyframe requests, and the send
 * target whenever the bandwidth estimate moves it.
 */
export type MediaDown =
  | {
      kind: 'remoteVideo'
      uid: number
      data: ArrayBuffer
      timestampUs: number
      keyFrame: boolean
      track?: VideoTrack
    }
  | { kind: 'remoteAudio'; uid: number; data: ArrayBuffer; timestampUs: number }
  | { kind: 'keyFrameRequested'; track?: VideoTrack }
  | ({ kind: 'sendTarget' } & SendTarget)

/** Larger than any frame a 640x360 realtime VP8 encoder makes; a bigger message is refused, not sent. */
export const MAX_MEDIA_FRAME_BYTES = 1 << 20

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function isFrameData(value: unknown): value is ArrayBuffer {
  return value instanceof ArrayBuffer && value.byteLength > 0 && value.byteLength <= MAX_MEDIA_FRAME_BYTES
}

function isTemporalLayerId(value: unknown): value is TemporalLayerId {
  return value === 0 || value === 1 || value === 2
}

function isVideoTrack(value: unknown): value is VideoTrack {
  return value === 'camera' || value === 'screen'
}

/** `track` as a message carries it: absent (the camera) or a known track; anything else is malformed. */
function trackField(message: Record<string, unknown>): { track?: VideoTrack } | null {
  const track = message['track']
  if (track === undefined) return {}
  return isVideoTrack(track) ? { track } : null
}

/** The host's check of what the page sends: a well-formed MediaUp, or null (counted and dropped). */
export function parseMediaUp(value: unknown): MediaUp | null {
  if (typeof value !== 'object' || value === null) return null
  const message = value as Record<string, unknown>
  const track = trackField(message)
  if (track === null) return null
  if (message['kind'] === 'keyFrameRequest') {
    const uid = message['uid']
    return typeof uid === 'number' && Number.isSafeInteger(uid) && uid > 0
      ? { kind: 'keyFrameRequest', uid, ...track }
      : null
  }
  if (!isFrameData(message['data']) || !isTimestamp(message['timestampUs'])) return null
  if (message['kind'] === 'video' && typeof message['keyFrame'] === 'boolean') {
    const layer = message['temporalLayerId']
    if (layer !== undefined && !isTemporalLayerId(layer)) return null
    return {
      kind: 'video',
      data: message['data'],
      timestampUs: message['timestampUs'],
      keyFrame: message['keyFrame'],
      ...(layer === undefined ? {} : { temporalLayerId: layer }),
      ...track,
    }
  }
  if (message['kind'] === 'audio') {
    return { kind: 'audio', data: message['data'], timestampUs: message['timestampUs'] }
  }
  return null
}
