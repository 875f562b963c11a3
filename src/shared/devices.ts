import { z } from 'zod'

/**
 * The user's camera, microphone and speaker (issue 13, docs/app.md "Devices"). A device is remembered by its
 * id with its label beside it: browsers and operating systems may give a device a new id in a new session
 * (or after a replug), and the label ("Jabra Evolve2 65") is what then finds it again. Absent: the system
 * default.
 */
export interface DeviceSettings {
  cameraId?: string
  cameraLabel?: string
  microphoneId?: string
  microphoneLabel?: string
  speakerId?: string
  speakerLabel?: string
}

export type DeviceKind = 'camera' | 'microphone' | 'speaker'
export const DEVICE_KINDS: readonly DeviceKind[] = ['camera', 'microphone', 'speaker']

/** A device as a rule names it: by id, or by a part of its label (ids differ per computer). */
export interface DeviceMatch {
  id?: string
  labelContains?: string
}

/**
 * Room for an IT policy on devices (not enforced by the hosts yet; the renderer's choice logic,
 * logic/devices.ts, already honours it when a host sets it): `pin` makes the device the only choice when it
 * is present, `forbid` removes matching devices from the lists.
 */
export interface DeviceRule {
  pin?: DeviceMatch
  forbid?: DeviceMatch[]
}

export type DevicePolicy = Partial<Record<DeviceKind, DeviceRule>>

/** Device ids and labels are opaque browser strings; bounded so a bad file or call cannot grow the settings. */
const deviceText = z.string().max(512)

export const DeviceSettingsSchema = z.strictObject({
  cameraId: deviceText.optional(),
  cameraLabel: deviceText.optional(),
  microphoneId: deviceText.optional(),
  microphoneLabel: deviceText.optional(),
  speakerId: deviceText.optional(),
  speakerLabel: deviceText.optional(),
}) satisfies z.ZodType<DeviceSettings>
