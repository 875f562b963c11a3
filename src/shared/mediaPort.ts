/**
 * Encoded media between the renderer and the engine host. Not on the invoke/event channels: after
 * `connectMedia()`, the host posts one MessagePort to the page with
 * `window.postMessage({ type: MEDIA_PORT_MESSAGE }, '*', [port])` — the Electron preload forwards the port
 * main sent it, the browser host's bridge makes one in the page and pipes it over its WebSocket — so the
 * renderer takes its port the same way in every host. Buffers are transferred, never copied. zod-free: the
 * preload bundle and the web bridge import this file.
 */

export const MEDIA_PORT_MESSAGE = 'pinhole:media-port'

/** Renderer → engine: the bytes of one WebCodecs EncodedVideoChunk / EncodedAudioChunk. */
export type MediaUp =
  | { kind: 'video'; data: ArrayBuffer; timestampUs: number; keyFrame: boolean }
  | { kind: 'audio'; data: ArrayBuffer; timestampUs: number }

/** Engine → renderer: remote frames (RemoteFrame of engine.ts) and the engine's keyframe requests. */
export type MediaDown =
  | { kind: 'remoteVideo'; uid: number; data: ArrayBuffer; timestampUs: number; keyFrame: boolean }
  | { kind: 'remoteAudio'; uid: number; data: ArrayBuffer; timestampUs: number }
  | { kind: 'keyFrameRequested' }

/** Larger than any frame a 640x360 realtime VP8 encoder makes; a bigger message is refused, not sent. */
export const MAX_MEDIA_FRAME_BYTES = 1 << 20

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function isFrameData(value: unknown): value is ArrayBuffer {
  return value instanceof ArrayBuffer && value.byteLength > 0 && value.byteLength <= MAX_MEDIA_FRAME_BYTES
}

/** The host's check of what the page sends: a well-formed MediaUp, or null (counted and dropped). */
export function parseMediaUp(value: unknown): MediaUp | null {
  if (typeof value !== 'object' || value === null) return null
  const message = value as Record<string, unknown>
  if (!isFrameData(message['data']) || !isTimestamp(message['timestampUs'])) return null
  if (message['kind'] === 'video' && typeof message['keyFrame'] === 'boolean') {
    return {
      kind: 'video',
      data: message['data'],
      timestampUs: message['timestampUs'],
      keyFrame: message['keyFrame'],
    }
  }
  if (message['kind'] === 'audio') {
    return { kind: 'audio', data: message['data'], timestampUs: message['timestampUs'] }
  }
  return null
}
