import type { DeviceChoice } from '../logic/devices'

type Kind = 'audio' | 'video'

/** The device of each capture kind. */
export const DEVICE_OF: Record<Kind, 'camera' | 'microphone'> = { video: 'camera', audio: 'microphone' }

/**
 * The capture constraints with the chosen device (exact: a camera that went away must fail, not open another
 * one silently; the device logic falls back to the default with a notice). No device: the system default.
 */
export function withDevice(
  constraints: MediaStreamConstraints,
  kind: Kind,
  devices: DeviceChoice,
): MediaStreamConstraints {
  const id = devices[DEVICE_OF[kind]]
  if (id === undefined) return constraints
  const own = constraints[kind]
  return { [kind]: { ...(typeof own === 'object' ? own : {}), deviceId: { exact: id } } }
}
