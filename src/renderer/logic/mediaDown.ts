import type { MediaDown, SendTarget } from '../../shared/mediaPort'

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** A budget above zero, a loss fraction in 0..1, a round trip ≥ 0 when present; otherwise null. */
function parseSendTarget(m: Record<string, unknown>): SendTarget | null {
  const { bitrateBps, lossFraction, rttMs } = m
  if (!isFiniteNumber(bitrateBps) || bitrateBps <= 0) return null
  if (!isFiniteNumber(lossFraction) || lossFraction < 0 || lossFraction > 1) return null
  if (rttMs === undefined) return { bitrateBps, lossFraction }
  return isFiniteNumber(rttMs) && rttMs >= 0 ? { bitrateBps, lossFraction, rttMs } : null
}

/** What the host posts is checked like any input crossing a boundary: malformed messages are dropped. */
export function parseMediaDown(value: unknown): MediaDown | null {
  if (typeof value !== 'object' || value === null) return null
  const m = value as Record<string, unknown>
  if (m['kind'] === 'keyFrameRequested')
    return m['track'] === 'screen'
      ? { kind: 'keyFrameRequested', track: 'screen' }
      : { kind: 'keyFrameRequested' }
  if (m['kind'] === 'sendTarget') {
    const target = parseSendTarget(m)
    return target && { kind: 'sendTarget', ...target }
  }
  const data = m['data']
  const uid = m['uid']
  const timestampUs = m['timestampUs']
  if (!(data instanceof ArrayBuffer) || data.byteLength === 0) return null
  if (typeof uid !== 'number' || !Number.isSafeInteger(uid) || uid < 0) return null
  if (typeof timestampUs !== 'number' || !Number.isFinite(timestampUs)) return null
  if (m['kind'] === 'remoteVideo' && typeof m['keyFrame'] === 'boolean') {
    const video = { kind: 'remoteVideo', uid, data, timestampUs, keyFrame: m['keyFrame'] } as const
    // Absent (or anything but `screen`) is the camera, as before screen sharing.
    return m['track'] === 'screen' ? { ...video, track: 'screen' } : video
  }
  if (m['kind'] === 'remoteAudio') return { kind: 'remoteAudio', uid, data, timestampUs }
  return null
}
