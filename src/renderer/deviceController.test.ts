import { mediaProblem } from './logic/mediaProblems'
import { describe, expect, it, vi } from 'vitest'
import type { AppSettings } from '../shared/ipc'
import type { CaptureProblem } from './controller'
import { DEVICES_SLOT, DeviceController } from './deviceController'
import type { DeviceChoice } from './logic/devices'
import { createAppStore } from './state/store'

interface Info {
  kind: string
  deviceId: string
  label: string
  groupId: string
}

const info = (kind: string, deviceId: string, label: string, groupId = deviceId): Info => ({
  kind,
  deviceId,
  label,
  groupId,
})

const LAPTOP = [
  info('videoinput', 'cam-a', 'Integrated Camera'),
  info('audioinput', 'mic-a', 'Built-in Microphone', 'laptop'),
  info('audiooutput', 'spk-a', 'Built-in Speakers', 'laptop'),
]
const USB_CAMERA = info('videoinput', 'cam-usb', 'USB Camera')
const HEADSET = [
  info('audioinput', 'mic-h', 'Jabra Evolve2 65', 'jabra'),
  info('audiooutput', 'spk-h', 'Jabra Evolve2 65', 'jabra'),
]

/** `navigator.mediaDevices` as the controller uses it: a list, and `devicechange` when it changes. */
class FakeDevices extends EventTarget {
  constructor(public list: Info[]) {
    super()
  }

  enumerateDevices(): Promise<Info[]> {
    return Promise.resolve(this.list.map((d) => ({ ...d })))
  }

  /** Changes the list and tells, as the OS does on a plug or unplug. */
  async change(list: Info[]): Promise<void> {
    this.list = list
    this.dispatchEvent(new Event('devicechange'))
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
}

async function setup(list: Info[], devices: AppSettings['devices'] = {}) {
  const store = createAppStore()
  store.getState().setSettings({ devices } as AppSettings)
  const mediaDevices = new FakeDevices(list)
  const problems: CaptureProblem[] = []
  const media = { useDevices: vi.fn(async (_choice: DeviceChoice) => problems.splice(0)) }
  const save = vi.fn(async () => 0)
  const controller = new DeviceController({
    store,
    media,
    mediaDevices: mediaDevices as unknown as MediaDevices,
    save,
    now: () => 1000,
  })
  await controller.init()
  const notices = () => store.getState().notices.filter((n) => n.slot === DEVICES_SLOT)
  return { store, mediaDevices, media, save, controller, notices, problems }
}

describe('device controller', () => {
  it('finds the remembered camera by its label when its id changed, and uses it', async () => {
    const t = await setup([...LAPTOP, USB_CAMERA], { cameraId: 'old-id', cameraLabel: 'USB Camera' })
    expect(t.media.useDevices).toHaveBeenLastCalledWith({ camera: 'cam-usb' })
    expect(t.store.getState().deviceChoice).toEqual({ camera: 'cam-usb' })
    expect(t.store.getState().deviceLists.camera.map((d) => d.id)).toEqual(['cam-a', 'cam-usb'])
  })

  it('a pick is used at once and remembered with its label; null goes back to the default', async () => {
    const t = await setup([...LAPTOP, USB_CAMERA])
    await t.controller.choose({ camera: 'cam-usb' })
    expect(t.media.useDevices).toHaveBeenLastCalledWith({ camera: 'cam-usb' })
    expect(t.save).toHaveBeenLastCalledWith({ cameraId: 'cam-usb', cameraLabel: 'USB Camera' })
    expect(t.store.getState().settings?.devices).toEqual({ cameraId: 'cam-usb', cameraLabel: 'USB Camera' })
    await t.controller.choose({ camera: null })
    expect(t.media.useDevices).toHaveBeenLastCalledWith({})
    expect(t.save).toHaveBeenLastCalledWith({})
  })

  it('the camera in use unplugged: the default, and a notice naming it', async () => {
    const t = await setup([...LAPTOP, USB_CAMERA])
    await t.controller.choose({ camera: 'cam-usb' })
    await t.mediaDevices.change(LAPTOP)
    expect(t.media.useDevices).toHaveBeenLastCalledWith({})
    expect(t.store.getState().deviceChoice).toEqual({})
    expect(t.notices()).toHaveLength(1)
    expect(t.notices()[0]).toMatchObject({
      severity: 'warning',
      phrase: { key: 'devices:lost.camera', values: { device: 'USB Camera' } },
    })
    // Remembered still: it is found again when it comes back in another session.
    expect(t.store.getState().settings?.devices).toMatchObject({ cameraId: 'cam-usb' })
  })

  it('a headset plugged in is offered; its button switches microphone and speaker together', async () => {
    const t = await setup(LAPTOP)
    await t.mediaDevices.change([...LAPTOP, ...HEADSET])
    const [offer] = t.notices()
    expect(offer).toMatchObject({
      phrase: { key: 'devices:offer.headset', values: { device: 'Jabra Evolve2 65' } },
    })
    expect(offer?.action?.label).toEqual({ key: 'devices:offer.use' })
    offer?.action?.run()
    await vi.waitFor(() => expect(t.save).toHaveBeenCalled())
    expect(t.media.useDevices).toHaveBeenLastCalledWith({ microphone: 'mic-h', speaker: 'spk-h' })
    expect(t.notices()).toEqual([])
  })

  it('a device that will not open: a notice with its sentence', async () => {
    const t = await setup([...LAPTOP, USB_CAMERA])
    t.problems.push({ kind: 'video', ...mediaProblem('captureBusy', { kind: 'video' }) })
    await t.controller.choose({ camera: 'cam-usb' })
    expect(t.notices()[0]?.sentence).toBe('The camera is busy: close the other app that uses it.')
    expect(t.notices()[0]?.phrase?.key).toBe('media:problem.captureBusy')
  })

  it('before permission nothing is resolved or offered; the first list with ids resolves the choice', async () => {
    const hidden = LAPTOP.map((d) => ({ ...d, deviceId: '', label: '' }))
    const t = await setup(hidden, { microphoneId: 'x', microphoneLabel: 'Built-in Microphone' })
    expect(t.media.useDevices).not.toHaveBeenCalled()
    await t.mediaDevices.change(LAPTOP)
    expect(t.media.useDevices).toHaveBeenLastCalledWith({ microphone: 'mic-a' })
    expect(t.notices()).toEqual([])
  })
})
