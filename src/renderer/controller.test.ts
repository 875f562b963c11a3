import { captureProblem } from './logic/mediaProblems'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import type { ConnectionReason, ConnectionState } from '../shared/engine'
import { ErrorCode, errorMessage } from '../shared/errors'
import type { AppSettings, IpcEventName, IpcEvents, PinholeApi } from '../shared/ipc'
import type { NetworkCheckReport } from '../shared/networkCheck'
import { createController, type MediaControl } from './controller'
import { createI18n } from './i18n'
import { langOf, say, type Lang } from './i18n/phrase'
import { createAppStore } from './state/store'

const REPORT: NetworkCheckReport = {
  startedAt: new Date(0).toISOString(),
  durationMs: 1500,
  ok: false,
  regions: [],
  summary: 'UDP 7070 blocked',
}

/** A host stand-in: records calls, answers from `settings`, lets the test emit engine events. */
function fakeBridge(overrides: Partial<AppSettings> = {}) {
  const settings: AppSettings = {
    cloudProxy: 1,
    allowedProxyModes: [0, 1, 2, 3],
    activeCloudProxy: null,
    region: 'auto',
    regions: [{ id: 'local', name: 'This computer', proxyHost: '127.0.0.1', ports: { udp: [1, 2], tcp: 3 } }],
    connectionState: 1,
    channel: 'last',
    uid: 0,
    embedded: true,
    locked: [],
    devices: {},
    notes: [],
    ...overrides,
  }
  const calls: unknown[][] = []
  const listeners = new Map<string, ((...args: never[]) => void)[]>()
  const ok = <T>(value: T) => Promise.resolve({ ok: true as const, value })
  const bridge: PinholeApi = {
    setCloudProxy: (type) => (calls.push(['setCloudProxy', type]), (settings.cloudProxy = type), ok(0)),
    setRegion: (region) => (calls.push(['setRegion', region]), ok(0)),
    joinChannel: (...args) => {
      calls.push(['joinChannel', ...args])
      settings.activeCloudProxy = settings.cloudProxy
      return ok(joinResult)
    },
    leaveChannel: () => (calls.push(['leaveChannel']), (settings.activeCloudProxy = null), ok(0)),
    enableLocalAudio: (on) => (calls.push(['enableLocalAudio', on]), ok(0)),
    enableLocalVideo: (on) => (calls.push(['enableLocalVideo', on]), ok(0)),
    startScreenCapture: () => (calls.push(['startScreenCapture']), ok(0)),
    stopScreenCapture: () => (calls.push(['stopScreenCapture']), ok(0)),
    listShareSources: () => (calls.push(['listShareSources']), ok([])),
    chooseShareSource: (id) => (calls.push(['chooseShareSource', id]), ok(0)),
    getSettings: () => ok({ ...settings }),
    setDevices: (devices) => (calls.push(['setDevices', devices]), (settings.devices = devices), ok(0)),
    probeRegions: () => (
      calls.push(['probeRegions']),
      ok([{ regionId: 'local', reachable: true, rttMs: 2, checks: [] }])
    ),
    getDevToken: (channel, uid) => (calls.push(['getDevToken', channel, uid]), ok(`dev-${channel}-${uid}`)),
    prepareJoin: (...args) => (calls.push(['prepareJoin', ...args]), ok(0)),
    connectMedia: () => (calls.push(['connectMedia']), ok(0)),
    runNetworkCheck: () => (calls.push(['runNetworkCheck']), ok(REPORT)),
    exportDiagnostics: () => (
      calls.push(['exportDiagnostics']),
      ok('/data/diagnostics/pinhole-diagnostics-x.json')
    ),
    setLanguage: (language) => {
      calls.push(['setLanguage', language])
      if (language === null) delete settings.language
      else settings.language = language
      return ok(0)
    },
    on: (event, listener) => {
      listeners.set(event, [
        ...(listeners.get(event) ?? []),
        listener as unknown as (...args: never[]) => void,
      ])
      return () => undefined
    },
  }
  let joinResult = 0
  const emit = <E extends IpcEventName>(event: E, ...args: IpcEvents[E]): void =>
    (listeners.get(event) ?? []).forEach((l) => (l as unknown as (...a: IpcEvents[E]) => void)(...args))
  return { bridge, calls, settings, emit, failJoinWith: (code: number) => (joinResult = code) }
}

function fakeMedia() {
  return {
    connect: vi.fn<MediaControl['connect']>(async (connectMedia) => void (await connectMedia())),
    startSending: vi.fn<MediaControl['startSending']>(async () => []),
    setSending: vi.fn<MediaControl['setSending']>(async () => []),
    stopSending: vi.fn<MediaControl['stopSending']>(),
    requestKeyFrame: vi.fn<MediaControl['requestKeyFrame']>(),
    startShare: vi.fn<MediaControl['startShare']>(async () => null),
    stopShare: vi.fn<MediaControl['stopShare']>(),
    dropRemote: vi.fn<MediaControl['dropRemote']>(),
    resumePlayback: vi.fn<MediaControl['resumePlayback']>(),
    figures: vi.fn<MediaControl['figures']>(() => ({})),
    levels: vi.fn<MediaControl['levels']>(() => ({})),
    close: vi.fn<MediaControl['close']>(),
    useDevices: vi.fn<MediaControl['useDevices']>(async () => []),
  } satisfies MediaControl
}

async function setup(overrides: Partial<AppSettings> = {}) {
  const host = fakeBridge(overrides)
  const store = createAppStore()
  const media = fakeMedia()
  const controller = createController({
    bridge: host.bridge,
    store,
    media,
    randomUid: () => 4321,
    figuresIntervalMs: 60_000,
  })
  await controller.init()
  host.calls.length = 0
  return { ...host, store, media, controller, s: store.getState }
}

let en: Lang
beforeAll(async () => {
  en = langOf(await createI18n('en'))
})

describe('controller', () => {
  it('init reads settings, prefills the form, asks for the media port and probes regions', async () => {
    const host = fakeBridge()
    const store = createAppStore()
    const media = fakeMedia()
    const controller = createController({ bridge: host.bridge, store, media, randomUid: () => 4321 })
    await controller.init()
    expect(store.getState().form).toEqual({ channel: 'last', uid: '4321', token: '' })
    expect(host.calls).toEqual([['connectMedia'], ['probeRegions']])
    expect(store.getState().probes['local']?.reachable).toBe(true)
    controller.dispose()
    expect(media.close).toHaveBeenCalled()
  })

  it.each([1, 2, 3] as const)('uid 0 with proxy mode %d: its own sentence and nothing sent', async (mode) => {
    const t = await setup({ cloudProxy: mode })
    t.s().setField('uid', '0')
    await t.controller.join()
    expect(t.s().formProblem).toEqual({
      field: 'uid',
      problem: { key: 'common:joinForm.problem.uidZeroProxy' },
    })
    expect(say(en.t, t.s().formProblem!.problem)).toBe(
      'uid 0 cannot join while a cloud proxy is on: choose a uid other than 0, or set the proxy mode to None.',
    )
    expect(t.calls).toEqual([])
    expect(t.media.startSending).not.toHaveBeenCalled()
  })

  it("copies the media side's audio levels into the store ten times a second", async () => {
    vi.useFakeTimers()
    try {
      const host = fakeBridge()
      const store = createAppStore()
      const media = fakeMedia()
      media.levels.mockReturnValue({ 0: 0.02, 2002: 0.3 })
      const controller = createController({ bridge: host.bridge, store, media, figuresIntervalMs: 60_000 })
      await controller.init()
      expect(store.getState().audioLevels).toEqual({})
      await vi.advanceTimersByTimeAsync(100)
      expect(store.getState().audioLevels).toEqual({ 0: 0.02, 2002: 0.3 })
      media.levels.mockReturnValue({ 0: 0 })
      await vi.advanceTimersByTimeAsync(100)
      expect(store.getState().audioLevels).toEqual({ 0: 0 })
      expect(media.levels).toHaveBeenCalledTimes(2)
      controller.dispose()
    } finally {
      vi.useRealTimers()
    }
  })

  it('joins with a dev token in embedded mode, enabling the media first', async () => {
    const t = await setup()
    t.s().setField('channel', 'room')
    await t.controller.join()
    expect(t.calls).toEqual([
      ['getDevToken', 'room', 4321],
      ['enableLocalVideo', true],
      ['enableLocalAudio', true],
      ['joinChannel', 'dev-room-4321', 'room', 4321],
    ])
    expect(t.s().form.token).toBe('dev-room-4321')
    expect(t.media.startSending).toHaveBeenCalledWith({ audio: true, video: true })
    expect(t.media.resumePlayback).toHaveBeenCalled()
    expect(t.s().busy).toBe(false)
  })

  it('joins with the display name typed (trimmed), prefilled from the settings; a refused one sends nothing', async () => {
    const t = await setup({ displayName: '王芳' })
    expect(t.s().displayName).toBe('王芳')
    t.s().setDisplayName('  李雷 ')
    await t.controller.join()
    expect(t.calls.at(-1)).toEqual(['joinChannel', 'dev-last-4321', 'last', 4321, { displayName: '李雷' }])
    expect(t.s().joinedName).toBe('李雷')
    await t.controller.leave()
    t.s().setDisplayName('')
    await t.controller.join()
    expect(t.s().joinedName).toBeNull()
    await t.controller.leave()
    t.calls.length = 0
    t.s().setDisplayName('bell\u0007')
    await t.controller.join()
    expect(t.calls).toEqual([])
  })

  it('asks for a new dev token when the channel changes after an automatic fill', async () => {
    const t = await setup()
    await t.controller.join()
    await t.controller.leave()
    t.s().setField('channel', 'other')
    t.calls.length = 0
    await t.controller.join()
    expect(t.calls[0]).toEqual(['getDevToken', 'other', 4321])
  })

  it('outside the embedded stack, a missing token is refused before sending', async () => {
    const t = await setup({ embedded: false })
    await t.controller.join()
    expect(t.s().formProblem?.field).toBe('token')
    expect(t.calls).toEqual([])
  })

  it('a refused join is a notice with the table sentence, and capture stops', async () => {
    const t = await setup()
    t.failJoinWith(ErrorCode.ProxyUdpUnreachable)
    await t.controller.join()
    expect(t.s().notices.at(-1)).toMatchObject({
      code: ErrorCode.ProxyUdpUnreachable,
      sentence: errorMessage(ErrorCode.ProxyUdpUnreachable),
      context: 'Join',
    })
    expect(t.media.stopSending).toHaveBeenCalled()
  })

  it('a failed join reads once: the engine event and the join result are one notice, with the detail', async () => {
    const t = await setup()
    t.failJoinWith(ErrorCode.ProxySessionTokenInvalid)
    t.bridge.joinChannel = async () => {
      t.emit('connectionStateChanged', 2 as ConnectionState, 5 as ConnectionReason)
      t.emit('connectionStateChanged', 5 as ConnectionState, 10 as ConnectionReason)
      t.emit('error', {
        code: ErrorCode.ProxySessionTokenInvalid,
        message: 'm',
        detail: '401 token_malformed',
      })
      return { ok: true, value: ErrorCode.ProxySessionTokenInvalid }
    }
    await t.controller.join()
    expect(t.s().notices).toHaveLength(1)
    expect(t.s().notices[0]).toMatchObject({
      code: ErrorCode.ProxySessionTokenInvalid,
      context: 'Join',
      detail: '401 token_malformed',
    })
  })

  it('a proxy mode the policy refuses is a notice until a mode change succeeds', async () => {
    const t = await setup()
    const refuse = t.bridge.setCloudProxy
    t.bridge.setCloudProxy = () =>
      Promise.resolve({ ok: false, error: { code: ErrorCode.NotAllowedByPolicy, message: 'm', detail: 'd' } })
    await t.controller.setProxyMode(0)
    expect(t.s().notices.map((n) => n.code)).toEqual([ErrorCode.NotAllowedByPolicy])
    t.bridge.setCloudProxy = refuse
    await t.controller.setProxyMode(2)
    expect(t.s().notices).toEqual([])
  })

  it('a join canceled by the user’s own Leave leaves no notice', async () => {
    const t = await setup()
    t.failJoinWith(ErrorCode.JoinCanceled)
    await t.controller.join()
    expect(t.s().notices).toEqual([])
  })

  it('a camera that will not start is a warning and the join goes on without video', async () => {
    const t = await setup()
    t.media.startSending.mockResolvedValueOnce([
      { kind: 'video', ...captureProblem('video', 'NotFoundError') },
    ])
    await t.controller.join()
    expect(t.s().camOn).toBe(false)
    expect(t.calls).toContainEqual(['enableLocalVideo', false])
    expect(t.s().notices.at(-1)).toMatchObject({
      severity: 'warning',
      code: null,
      context: 'Camera',
      phrase: { key: 'media:problem.captureMissing' },
    })
  })

  it('a proxy change in a call reads back as "next join" (activeCloudProxy differs)', async () => {
    const t = await setup()
    await t.controller.join()
    await t.controller.setProxyMode(2)
    expect(t.s().settings).toMatchObject({ cloudProxy: 2, activeCloudProxy: 1 })
  })

  it('camera off stops capture and tells the engine', async () => {
    const t = await setup()
    await t.controller.toggleCam()
    expect(t.media.setSending).toHaveBeenCalledWith('video', false)
    expect(t.calls).toEqual([['enableLocalVideo', false]])
    expect(t.s().camOn).toBe(false)
  })

  it('engine events drive media: Connected asks for key frames, Disconnected stops capture', async () => {
    const t = await setup()
    t.emit('connectionStateChanged', 3 as ConnectionState, 6 as ConnectionReason)
    // The camera's and (if one runs) the screen share's.
    expect(t.media.requestKeyFrame.mock.calls).toEqual([[], ['screen']])
    t.emit('keyFrameRequested')
    t.emit('keyFrameRequested', 'screen')
    expect(t.media.requestKeyFrame.mock.calls.slice(2)).toEqual([[undefined], ['screen']])
    t.emit('userLeft', 9, 1 as ConnectionReason)
    expect(t.media.dropRemote).toHaveBeenCalledWith(9)
    t.emit('connectionStateChanged', 1 as ConnectionState, 1 as ConnectionReason)
    expect(t.media.stopSending).toHaveBeenCalled()
  })

  it('a failed invoke becomes a notice, not a throw', async () => {
    const t = await setup()
    t.bridge.setRegion = () =>
      Promise.resolve({ ok: false, error: { code: ErrorCode.RegionUnknown, message: 'nope', detail: 'xx' } })
    await t.controller.setRegion('xx')
    expect(t.s().notices.at(-1)).toMatchObject({
      code: ErrorCode.RegionUnknown,
      context: 'Region',
      detail: 'xx',
    })
    t.bridge.leaveChannel = () => Promise.reject(new Error('socket closed'))
    await t.controller.leave()
    expect(t.s().notices.at(-1)?.sentence).toContain('socket closed')
  })

  it('runs the network check into the store; a refusal leaves a problem and a notice', async () => {
    const t = await setup()
    const running = t.controller.runNetworkCheck()
    expect(t.s().networkChecking).toBe(true)
    await t.controller.runNetworkCheck() // a second click while one runs sends nothing
    await running
    expect(t.calls).toEqual([['runNetworkCheck']])
    expect(t.s()).toMatchObject({ networkChecking: false, networkReport: REPORT, networkProblem: null })
    t.bridge.runNetworkCheck = () =>
      Promise.resolve({ ok: false, error: { code: ErrorCode.Internal, message: 'host went away' } })
    await t.controller.runNetworkCheck()
    expect(t.s().networkReport).toBe(REPORT)
    expect(t.s().networkProblem).toMatch(/did not run/)
    expect(t.s().notices.at(-1)).toMatchObject({ context: 'Network check', code: ErrorCode.Internal })
  })

  it('exports diagnostics and keeps where the file went; a failure says no file was written', async () => {
    const t = await setup()
    await t.controller.exportDiagnostics()
    expect(t.s().diagnosticsExport).toEqual({
      status: 'written',
      path: '/data/diagnostics/pinhole-diagnostics-x.json',
    })
    t.bridge.exportDiagnostics = () => Promise.reject(new Error('socket closed'))
    await t.controller.exportDiagnostics()
    expect(t.s().diagnosticsExport).toMatchObject({ status: 'failed' })
    expect(t.s().notices.at(-1)).toMatchObject({ context: 'Export diagnostics' })
  })

  it('the language chosen is sent to the host and comes back in the settings; null follows the OS', async () => {
    const t = await setup({ systemLocale: 'zh-CN' })
    await t.controller.setLanguage('en')
    expect(t.calls).toEqual([['setLanguage', 'en']])
    expect(t.s().settings).toMatchObject({ language: 'en', systemLocale: 'zh-CN' })
    await t.controller.setLanguage(null)
    expect(t.s().settings?.language).toBeUndefined()
  })
})
