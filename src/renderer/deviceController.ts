import type { MediaProblem } from './logic/mediaProblems'
import type { DeviceKind, DeviceSettings } from '../shared/devices'
import { phrase, type Phrase } from './i18n/phrase'
import {
  deviceChange,
  hasDevices,
  listDevices,
  rememberDevice,
  resolveChoice,
  type Device,
  type DeviceChoice,
} from './logic/devices'
import type { NoticeInput } from './logic/notices'
import type { AppState, AppStore } from './state/types'

/** A camera or microphone that could not be opened, in words for the user. */
export interface CaptureProblem extends MediaProblem {
  kind: 'audio' | 'video'
}

/** The one notice slot of devices: a device lost, or one plugged in to offer (the newest wins). */
export const DEVICES_SLOT = 'devices'

/** What the device logic needs from the media side (media/mediaEngine.ts). */
export interface DeviceMedia {
  /** The devices to capture and play with; a running capture switches at once. Resolves with failures. */
  useDevices(devices: DeviceChoice): Promise<CaptureProblem[]>
}

/** The pickers' actions (ui/DevicePicker.tsx) and the preview's. */
export interface DeviceActions {
  /** Uses and remembers these devices; null: the system default. Kinds left out stay as they are. */
  choose(picks: Partial<Record<DeviceKind, string | null>>): Promise<void>
  /** Lists the devices again (the preview calls it once it may see them: labels come with permission). */
  refresh(): Promise<void>
}

export interface DeviceControllerDeps {
  store: AppStore
  media: DeviceMedia
  /** `navigator.mediaDevices`; absent in a page that may not capture (insecure origin). */
  mediaDevices: MediaDevices | undefined
  /** Remembers the choice on the host (`setDevices`). */
  save(devices: DeviceSettings): Promise<unknown>
  now(): number
}

/**
 * Which devices the call uses (docs/app.md "Devices"): the remembered choice found in the current lists,
 * the user's picks (remembered on the host), and `devicechange`: the device in use unplugged → the system
 * default with a notice; a device plugged in → a notice offering it.
 */
export class DeviceController implements DeviceActions {
  /** The remembered choice has been matched against lists with ids (it needs the page's permission). */
  private resolved = false
  private readonly onDeviceChange = (): void => void this.deviceChanged()

  constructor(private readonly deps: DeviceControllerDeps) {}

  private get s(): AppState {
    return this.deps.store.getState()
  }

  async init(): Promise<void> {
    this.deps.mediaDevices?.addEventListener('devicechange', this.onDeviceChange)
    await this.refresh()
  }

  dispose(): void {
    this.deps.mediaDevices?.removeEventListener('devicechange', this.onDeviceChange)
  }

  async refresh(): Promise<void> {
    const lists = await this.enumerate()
    if (!lists) return
    this.s.setDeviceLists(lists)
    if (this.resolved || !hasDevices(lists)) return
    this.resolved = true
    const settings = this.s.settings
    await this.use(resolveChoice(lists, settings?.devices ?? {}, settings?.devicePolicy))
  }

  async choose(picks: Partial<Record<DeviceKind, string | null>>): Promise<void> {
    const choice: DeviceChoice = { ...this.s.deviceChoice }
    let remembered = this.s.settings?.devices ?? {}
    for (const [kind, id] of Object.entries(picks) as [DeviceKind, string | null][]) {
      const device = id === null ? undefined : this.s.deviceLists[kind].find((d) => d.id === id)
      if (device) choice[kind] = device.id
      else delete choice[kind]
      remembered = rememberDevice(remembered, kind, device)
    }
    this.s.clearNotices(DEVICES_SLOT)
    await this.use(choice)
    const settings = this.s.settings
    if (settings) this.s.setSettings({ ...settings, devices: remembered })
    await this.deps.save(remembered)
  }

  private async use(choice: DeviceChoice): Promise<void> {
    this.s.setDeviceChoice(choice)
    const problems = await this.deps.media.useDevices(choice)
    for (const problem of problems) {
      this.notify({ sentence: problem.sentence, phrase: problem.phrase, severity: 'warning' })
    }
  }

  private async deviceChanged(): Promise<void> {
    const before = this.s.deviceLists
    const after = await this.enumerate()
    if (!after) return
    this.s.setDeviceLists(after)
    if (!this.resolved) return this.refresh()
    const change = deviceChange(before, after, this.s.deviceChoice)
    if (change.lost.length > 0) {
      const choice = { ...this.s.deviceChoice }
      for (const { kind } of change.lost) delete choice[kind]
      const { kind, device } = change.lost[0]!
      this.notify({
        severity: 'warning',
        sentence: `${device.label || kind} was disconnected: using the system default.`,
        phrase: phrase(`devices:lost.${kind}`, { device: deviceName(device) }),
      })
      await this.use(choice)
    } else if (change.offer) {
      const { device, speaker } = change.offer
      const picks = speaker ? { [device.kind]: device.id, speaker: speaker.id } : { [device.kind]: device.id }
      this.notify({
        severity: 'warning',
        sentence: `${device.label || device.kind} was connected.`,
        phrase: phrase(speaker ? 'devices:offer.headset' : `devices:offer.${device.kind}`, {
          device: deviceName(device),
        }),
        action: { label: phrase('devices:offer.use'), run: () => void this.choose(picks) },
      })
    }
  }

  private notify(notice: Pick<NoticeInput, 'severity' | 'sentence' | 'phrase' | 'action'>): void {
    const input: NoticeInput = { code: null, context: 'Devices', slot: DEVICES_SLOT, ...notice }
    this.s.addNotice(input, this.deps.now())
  }

  private async enumerate(): Promise<ReturnType<typeof listDevices> | null> {
    try {
      return listDevices((await this.deps.mediaDevices?.enumerateDevices()) ?? [])
    } catch {
      return null
    }
  }
}

/** A device's label, or "camera 2"-like words when the system gives none. */
export function deviceName(device: Device): string | Phrase {
  return device.label !== '' ? device.label : phrase(`devices:unnamed.${device.kind}`)
}
