import { describe, expect, it } from 'vitest'
import {
  allowedDevices,
  deviceChange,
  listDevices,
  meterLevel,
  rmsOf,
  rememberDevice,
  resolveChoice,
  resolveDevice,
  type Device,
  type DeviceLists,
} from './devices'

const info = (kind: string, deviceId: string, label: string, groupId = '') => ({
  kind,
  deviceId,
  label,
  groupId,
})

const BUILT_IN = [
  info('videoinput', 'cam-a', 'Integrated Camera', 'g1'),
  info('audioinput', 'default', 'Default - Built-in Microphone', 'g2'),
  info('audioinput', 'mic-a', 'Built-in Microphone', 'g2'),
  info('audiooutput', 'default', 'Default - Built-in Speakers', 'g2'),
  info('audiooutput', 'communications', 'Communications - Built-in Speakers', 'g2'),
  info('audiooutput', 'spk-a', 'Built-in Speakers', 'g2'),
]
const HEADSET = [
  info('audioinput', 'mic-h', 'Jabra Evolve2 65', 'g9'),
  info('audiooutput', 'spk-h', 'Jabra Evolve2 65', 'g9'),
]

const device = (kind: Device['kind'], id: string, label: string, groupId = ''): Device => ({
  kind,
  id,
  label,
  groupId,
})

describe('device lists', () => {
  it('groups by kind and leaves out the default aliases and id-less entries (no permission yet)', () => {
    const lists = listDevices([...BUILT_IN, info('videoinput', '', ''), info('usb', 'x', 'x')])
    expect(lists.camera.map((d) => d.id)).toEqual(['cam-a'])
    expect(lists.microphone.map((d) => d.id)).toEqual(['mic-a'])
    expect(lists.speaker.map((d) => d.id)).toEqual(['spk-a'])
  })
})

describe('the remembered choice', () => {
  const cameras = [
    device('camera', 'new-id-1', 'Integrated Camera'),
    device('camera', 'new-id-2', 'USB Camera'),
  ]

  it('finds the device by id, else by label (its id changed), else the default', () => {
    expect(resolveDevice(cameras, { id: 'new-id-2', label: 'whatever' })).toBe('new-id-2')
    expect(resolveDevice(cameras, { id: 'old-id', label: 'USB Camera' })).toBe('new-id-2')
    expect(resolveDevice(cameras, { id: 'old-id', label: 'Gone Camera' })).toBeUndefined()
    expect(resolveDevice(cameras, {})).toBeUndefined()
    expect(resolveDevice([...cameras, device('camera', 'x', '')], { id: 'old', label: '' })).toBeUndefined()
  })

  it('resolves every kind from the settings', () => {
    const lists = listDevices([...BUILT_IN, ...HEADSET])
    const settings = { microphoneId: 'stale', microphoneLabel: 'Jabra Evolve2 65', speakerId: 'spk-a' }
    expect(resolveChoice(lists, settings)).toEqual({ microphone: 'mic-h', speaker: 'spk-a' })
  })

  it('remembers the id with the label, and forgets both for the default', () => {
    const picked = rememberDevice({ cameraId: 'a' }, 'microphone', device('microphone', 'mic-h', 'Jabra'))
    expect(picked).toEqual({ cameraId: 'a', microphoneId: 'mic-h', microphoneLabel: 'Jabra' })
    expect(rememberDevice(picked, 'microphone', undefined)).toEqual({ cameraId: 'a' })
    expect(rememberDevice({}, 'camera', device('camera', 'c', ''))).toEqual({ cameraId: 'c' })
  })
})

describe('an IT policy on devices', () => {
  const mics = [
    device('microphone', 'm1', 'Built-in Microphone'),
    device('microphone', 'm2', 'Jabra Evolve2 65'),
  ]

  it('forbidden devices are not listed and never chosen', () => {
    const rule = { forbid: [{ labelContains: 'Built-in' }] }
    expect(allowedDevices(mics, rule).map((d) => d.id)).toEqual(['m2'])
    expect(resolveDevice(mics, { id: 'm1' }, rule)).toBeUndefined()
  })

  it('a pinned device that is present is the only choice, whatever was remembered', () => {
    const rule = { pin: { labelContains: 'Jabra' } }
    expect(allowedDevices(mics, rule).map((d) => d.id)).toEqual(['m2'])
    expect(resolveDevice(mics, { id: 'm1' }, rule)).toBe('m2')
    // Absent: the user picks among the rest.
    expect(resolveDevice(mics.slice(0, 1), { id: 'm1' }, rule)).toBe('m1')
  })
})

describe('devicechange', () => {
  const before = listDevices(BUILT_IN)

  it('a headset plugged in is offered, its microphone with its earphones', () => {
    const change = deviceChange(before, listDevices([...BUILT_IN, ...HEADSET]), {})
    expect(change.lost).toEqual([])
    expect(change.offer?.device).toMatchObject({ kind: 'microphone', id: 'mic-h' })
    expect(change.offer?.speaker).toMatchObject({ kind: 'speaker', id: 'spk-h' })
  })

  it('a camera plugged in is offered alone', () => {
    const after = listDevices([...BUILT_IN, info('videoinput', 'cam-b', 'USB Camera', 'g5')])
    expect(deviceChange(before, after, {}).offer).toEqual({
      device: device('camera', 'cam-b', 'USB Camera', 'g5'),
    })
  })

  it('the device in use unplugged is lost (back to the default); one not in use is not', () => {
    const withHeadset = listDevices([...BUILT_IN, ...HEADSET])
    const change = deviceChange(withHeadset, before, { microphone: 'mic-h', camera: 'cam-a' })
    expect(change.lost).toEqual([
      { kind: 'microphone', device: device('microphone', 'mic-h', 'Jabra Evolve2 65', 'g9') },
    ])
    expect(change.offer).toBeNull()
    expect(deviceChange(withHeadset, before, {}).lost).toEqual([])
  })

  it('devices appearing when permission is granted are not offered', () => {
    const none: DeviceLists = listDevices(BUILT_IN.map((d) => ({ ...d, deviceId: '', label: '' })))
    expect(deviceChange(none, before, {})).toEqual({ lost: [], offer: null })
  })
})

describe('the microphone meter', () => {
  it('reads in decibels: silence 0, full scale 1, -30 dBFS half way', () => {
    expect(meterLevel(0)).toBe(0)
    expect(meterLevel(1e-5)).toBe(0)
    expect(meterLevel(1)).toBe(1)
    expect(meterLevel(2)).toBe(1)
    expect(meterLevel(10 ** (-30 / 20))).toBeCloseTo(0.5, 6)
  })

  it('takes the RMS of a reading', () => {
    expect(rmsOf(new Float32Array([0.5, -0.5, 0.5, -0.5]))).toBeCloseTo(0.5, 6)
    expect(rmsOf(new Float32Array(0))).toBe(0)
  })
})
