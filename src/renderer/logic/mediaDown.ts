import type { MediaDown } from '../../shared/mediaPort'

/** What the host posts is checked like any input crossing a boundary: malformed messages are dropped. */
export function parseMediaDown(value: unknown): MediaDown | null {
  if (typeof value !== 'object' || value === null) return null
  const m = value as Record<string, unknown>
  if (m['kind'] === 'keyFrameRequested') return { kind: 'keyFrameRequested' }
  const data = m['data']
  const uid = m['uid']
  const timestampUs = m['timestampUs']
  if (!(data instanceof ArrayBuffer) || data.byteLength === 0) return null
  if (typeof uid !== 'number' || !Number.isSafeInteger(uid) || uid < 0) return null
  if (typeof timestampUs !== 'number' || !Number.isFinite(timestampUs)) return null
  if (m['kind'] === 'remoteVideo' && typeof m['keyFrame'] === 'boolean') {
    return { kind: 'remoteVideo', uid, data, timestampUs, keyFrame: m['keyFrame'] }
  }
  if (m['kind'] === 'remoteAudio') return { kind: 'remoteAudio', uid, data, timestampUs }
  return null
}
