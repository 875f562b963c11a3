import { describe, expect, it } from 'vitest'
import {
  INVOKE_CHANNELS,
  INVOKE_CONTRACT,
  IPC_EVENTS,
  IpcArgumentError,
  isInvokeChannel,
  isIpcEventName,
  parseInvokeArgs,
  type InvokeChannel,
} from './ipc'

describe('IPC contract', () => {
  it('names exactly the channels it has schemas for', () => {
    expect([...INVOKE_CHANNELS].sort()).toEqual(Object.keys(INVOKE_CONTRACT).sort())
  })

  it('leaves binary media frames out of the event map', () => {
    expect(IPC_EVENTS).toContain('connectionStateChanged')
    expect(IPC_EVENTS).not.toContain('remoteVideoFrame')
    expect(IPC_EVENTS).not.toContain('remoteAudioFrame')
    expect(isIpcEventName('remoteVideoFrame')).toBe(false)
    expect(isIpcEventName('toString')).toBe(false)
    expect(isInvokeChannel('joinChannel')).toBe(true)
    expect(isInvokeChannel('constructor')).toBe(false)
  })

  const valid: Array<[InvokeChannel, unknown[]]> = [
    ['setCloudProxy', [0]],
    ['setCloudProxy', [3]],
    ['setRegion', ['auto']],
    ['setRegion', ['eu-west']],
    ['joinChannel', ['token', 'room-1', 42]],
    ['joinChannel', ['', 'room', 0]],
    ['joinChannel', ['token', 'room-1', 42, { displayName: '张三' }]],
    ['joinChannel', ['token', 'room-1', 42, {}]],
    ['prepareJoin', ['token', 'room-1', 42]],
    ['startScreenCapture', []],
    ['stopScreenCapture', []],
    ['leaveChannel', []],
    ['enableLocalAudio', [true]],
    ['enableLocalVideo', [false]],
    ['getSettings', []],
    ['probeRegions', []],
    ['getDevToken', ['room-1', 42]],
    ['connectMedia', []],
    ['runNetworkCheck', []],
    ['exportDiagnostics', []],
    ['setDevices', [{}]],
    ['setDevices', [{ cameraId: 'abc', cameraLabel: 'USB Camera', speakerId: 'default' }]],
    ['setLanguage', ['zh-CN']],
    ['setLanguage', ['en']],
    ['setLanguage', [null]],
  ]

  it.each(valid)('accepts %s %j', (channel, args) => {
    expect(parseInvokeArgs(channel, args)).toEqual(args)
  })

  const invalid: Array<[InvokeChannel, unknown[]]> = [
    ['setCloudProxy', [4]],
    ['setCloudProxy', [-1]],
    ['setCloudProxy', ['1']],
    ['setCloudProxy', []],
    ['setRegion', ['']],
    ['setRegion', [7]],
    ['setRegion', ['x'.repeat(65)]],
    ['joinChannel', ['token', 'room', -1]],
    ['joinChannel', ['token', 'room', 1.5]],
    ['joinChannel', ['token', 'room', Number.MAX_SAFE_INTEGER + 2]],
    ['joinChannel', ['token', '', 1]],
    ['prepareJoin', ['token', 'room', 1, {}]],
    ['prepareJoin', ['token', '', 1]],
    ['joinChannel', ['token', 'r'.repeat(65), 1]],
    ['joinChannel', [null, 'room', 1]],
    ['joinChannel', ['token', 'room']],
    ['joinChannel', ['token', 'room', 1, 'extra']],
    ['joinChannel', ['token', 'room', 1, { displayName: '' }]],
    ['joinChannel', ['token', 'room', 1, { displayName: 'tab\there' }]],
    ['joinChannel', ['token', 'room', 1, { displayName: 'x'.repeat(65) }]],
    ['joinChannel', ['token', 'room', 1, { name: 'x' }]],
    ['joinChannel', ['token', 'room', 1, {}, 'extra']],
    ['startScreenCapture', [true]],
    ['leaveChannel', ['now']],
    ['enableLocalAudio', ['yes']],
    ['enableLocalVideo', [1]],
    ['getSettings', [{}]],
    ['probeRegions', ['all']],
    ['getDevToken', ['', 1]],
    ['getDevToken', ['room', -1]],
    ['getDevToken', ['room']],
    ['connectMedia', [true]],
    ['runNetworkCheck', ['lab']],
    ['exportDiagnostics', ['/tmp/elsewhere']],
    ['setDevices', []],
    ['setDevices', [{ cameraId: 7 }]],
    ['setDevices', [{ camera: 'abc' }]],
    ['setDevices', [{ cameraLabel: 'x'.repeat(513) }]],
    ['setLanguage', ['fr']],
    ['setLanguage', ['zh']],
    ['setLanguage', []],
  ]

  it.each(invalid)('refuses %s %j with a 414 IpcArgumentError', (channel, args) => {
    const attempt = (): unknown => {
      try {
        parseInvokeArgs(channel, args)
        return undefined
      } catch (error) {
        return error
      }
    }
    const error = attempt()
    expect(error).toBeInstanceOf(IpcArgumentError)
    expect(error).toMatchObject({ code: 414, channel })
  })
})
