import type { DeviceKind, DeviceMatch, DeviceRule, DeviceSettings } from '../../shared/devices'

/**
 * Which camera, microphone and speaker to use (docs/app.md "Devices"). Pure: the lists come from
 * `enumerateDevices()`, the remembered choice from the settings.
 */

/** One device as the pickers list it. */
export interface Device {
  kind: DeviceKind
  id: string
  /** Empty before the page may use the devices (no permission yet): the picker numbers them instead. */
  label: string
  /** Devices of one piece of hardware (a headset's microphone and earphones) share it. */
  groupId: string
}

export type DeviceLists = Record<DeviceKind, Device[]>

/** The devices in use, by kind; absent: the system default. */
export type DeviceChoice = Partial<Record<DeviceKind, string>>

const BROWSER_KINDS: Record<string, DeviceKind> = {
  videoinput: 'camera',
  audioinput: 'microphone',
  audiooutput: 'speaker',
}

/**
 * Chromium lists the system default (and on Windows the communications device) again under these ids: they
 * follow whatever the system's choice is, so the pickers offer them as "System default" rather than as a
 * device.
 */
const ALIAS_IDS: ReadonlySet<string> = new Set(['default', 'communications'])

interface BrowserDevice {
  kind: string
  deviceId: string
  label: string
  groupId: string
}

/** `enumerateDevices()` as lists by kind, without the default aliases and without id-less entries. */
export function listDevices(infos: readonly BrowserDevice[]): DeviceLists {
  const lists: DeviceLists = { camera: [], microphone: [], speaker: [] }
  for (const info of infos) {
    const kind = BROWSER_KINDS[info.kind]
    if (!kind || info.deviceId === '' || ALIAS_IDS.has(info.deviceId)) continue
    lists[kind].push({ kind, id: info.deviceId, label: info.label, groupId: info.groupId })
  }
  return lists
}

/** Whether the page may see the devices: before permission, ids are empty and `listDevices` drops them. */
export function hasDevices(lists: DeviceLists): boolean {
  return lists.camera.length + lists.microphone.length + lists.speaker.length > 0
}

function matches(device: Device, match: DeviceMatch): boolean {
  if (match.id !== undefined && device.id === match.id) return true
  return (
    match.labelContains !== undefined &&
    match.labelContains !== '' &&
    device.label.includes(match.labelContains)
  )
}

/** The devices a rule lets the user pick: forbidden ones removed, only the pinned one when it is present. */
export function allowedDevices(devices: readonly Device[], rule: DeviceRule | undefined): Device[] {
  const allowed = devices.filter((d) => !(rule?.forbid ?? []).some((match) => matches(d, match)))
  const pinned = rule?.pin ? allowed.filter((d) => matches(d, rule.pin!)) : []
  return pinned.length > 0 ? pinned : allowed
}

/** The remembered id and label of one kind. */
export function remembered(settings: DeviceSettings, kind: DeviceKind): { id?: string; label?: string } {
  return { id: settings[`${kind}Id`], label: settings[`${kind}Label`] }
}

/**
 * The device to open for a remembered choice: the same id, else the same label (the id can change between
 * sessions), else none (the system default). A policy that pins a present device wins; a forbidden one is
 * never chosen.
 */
export function resolveDevice(
  devices: readonly Device[],
  choice: { id?: string; label?: string },
  rule?: DeviceRule,
): string | undefined {
  const allowed = allowedDevices(devices, rule)
  const pin = rule?.pin
  const pinned = pin ? allowed.find((d) => matches(d, pin)) : undefined
  if (pinned) return pinned.id
  const byId = allowed.find((d) => d.id === choice.id)
  if (byId) return byId.id
  const label = choice.label
  return label ? allowed.find((d) => d.label === label)?.id : undefined
}

/** The whole remembered choice resolved against the lists. */
export function resolveChoice(
  lists: DeviceLists,
  settings: DeviceSettings,
  policy: Partial<Record<DeviceKind, DeviceRule>> = {},
): DeviceChoice {
  const choice: DeviceChoice = {}
  for (const kind of ['camera', 'microphone', 'speaker'] as const) {
    const id = resolveDevice(lists[kind], remembered(settings, kind), policy[kind])
    if (id !== undefined) choice[kind] = id
  }
  return choice
}

/** The settings after the user picked `id` (undefined: the system default) for `kind`. */
export function rememberDevice(
  settings: DeviceSettings,
  kind: DeviceKind,
  device: Device | undefined,
): DeviceSettings {
  const next: DeviceSettings = { ...settings }
  delete next[`${kind}Id`]
  delete next[`${kind}Label`]
  if (device) {
    next[`${kind}Id`] = device.id
    if (device.label !== '') next[`${kind}Label`] = device.label
  }
  return next
}

/** What a `devicechange` means for the call. */
export interface DeviceChange {
  /** Kinds whose device in use went away: they go back to the system default. */
  lost: { kind: DeviceKind; device: Device }[]
  /**
   * A device that was plugged in, to offer (one at a time: a headset first), with the speaker of the same
   * hardware when it is a microphone (a headset is both).
   */
  offer: { device: Device; speaker?: Device } | null
}

const OFFER_ORDER: readonly DeviceKind[] = ['microphone', 'speaker', 'camera']

/**
 * Compares the lists before and after a `devicechange`. Before the page could see devices (no permission),
 * everything would look new: nothing is offered then.
 */
export function deviceChange(before: DeviceLists, after: DeviceLists, inUse: DeviceChoice): DeviceChange {
  const lost: DeviceChange['lost'] = []
  for (const kind of OFFER_ORDER) {
    const id = inUse[kind]
    const device = before[kind].find((d) => d.id === id)
    if (id !== undefined && !after[kind].some((d) => d.id === id)) {
      lost.push({ kind, device: device ?? { kind, id, label: '', groupId: '' } })
    }
  }
  if (!hasDevices(before)) return { lost, offer: null }
  const added = (kind: DeviceKind): Device[] =>
    after[kind].filter((d) => !before[kind].some((b) => b.id === d.id) && d.id !== inUse[kind])
  for (const kind of OFFER_ORDER) {
    const device = added(kind)[0]
    if (!device) continue
    const speaker =
      kind === 'microphone' && device.groupId !== ''
        ? added('speaker').find((d) => d.groupId === device.groupId)
        : undefined
    return { lost, offer: speaker ? { device, speaker } : { device } }
  }
  return { lost, offer: null }
}

/** The meter's floor: quieter than this reads as silence (room noise of a laptop microphone). */
const METER_FLOOR_DB = -60

/** The microphone meter's position (0..1) for an RMS level: decibels, so speech moves it visibly. */
export function meterLevel(rms: number): number {
  if (!(rms > 0)) return 0
  const db = 20 * Math.log10(rms)
  return Math.min(1, Math.max(0, (db - METER_FLOOR_DB) / -METER_FLOOR_DB))
}

/** The RMS of one analyser reading (AnalyserNode.getFloatTimeDomainData). */
export function rmsOf(samples: Float32Array): number {
  let sum = 0
  for (const s of samples) sum += s * s
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length)
}
