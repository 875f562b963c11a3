import { describe, expect, it, vi } from 'vitest'
import type { ProxyConnectedInfo, RemoteVideoStats, RtcStats } from '../../shared/engine'
import { ErrorCode, appErrorMessage, errorMessage } from '../../shared/errors'
import type { AppSettings } from '../../shared/ipc'
import { TIMELINE_LIMIT } from './connectionSlice'
import { engineEventHandlers } from './engineEvents'
import { NOTICE_LIMIT } from './noticesSlice'
import { createAppStore } from './store'

const proxy: ProxyConnectedInfo = {
  type: 1,
  regionId: 'local',
  proxyAddress: '127.0.0.1:3478',
  transport: 'udp',
  elapsedMs: 12,
  attempts: [],
}

function setup() {
  const store = createAppStore()
  const effects = { keyFrameRequested: vi.fn(), connectionStateChanged: vi.fn(), userLeft: vi.fn() }
  let clock = 1000
  const events = engineEventHandlers(store, effects, () => clock++)
  return { store, effects, events, s: store.getState }
}

describe('store fed by engine events', () => {
  it('starts Disconnected with nothing in it, and each store is fresh', () => {
    const a = createAppStore()
    a.getState().userJoined(5)
    const b = createAppStore().getState()
    expect(b).toMatchObject({
      connectionState: 1,
      connectionReason: null,
      timeline: [],
      remotes: {},
      settings: null,
    })
  })

  it('records every transition with its time, the proxy path and the joined uid', () => {
    const { events, s, effects } = setup()
    events.connectionStateChanged(2, 5)
    events.proxyConnected(proxy)
    events.connectionStateChanged(2, 13)
    events.connectionStateChanged(3, 6)
    events.joinChannel(0, 'room', 7, 150)
    expect(s().timeline).toEqual([
      { atMs: 1000, state: 2, reason: 5 },
      { atMs: 1001, state: 2, reason: 13 },
      { atMs: 1002, state: 3, reason: 6 },
    ])
    expect(s()).toMatchObject({ connectionState: 3, connectionReason: 6, proxyPath: proxy })
    expect(s().joined).toEqual({ channel: 'room', uid: 7, elapsedMs: 150 })
    expect(effects.connectionStateChanged).toHaveBeenLastCalledWith(3)
  })

  it('a new join forgets the previous proxy path; Disconnected forgets the call', () => {
    const { events, s } = setup()
    events.proxyConnected(proxy)
    events.joinChannel(0, 'room', 7, 150)
    events.userJoined(9)
    events.connectionStateChanged(1, 1)
    expect(s()).toMatchObject({ joined: null, remotes: {}, proxyPath: proxy })
    events.connectionStateChanged(2, 5)
    expect(s().proxyPath).toBeNull()
  })

  it('keeps the most recent transitions only', () => {
    const { events, s } = setup()
    for (let i = 0; i < TIMELINE_LIMIT + 5; i++) events.connectionStateChanged(2, 5)
    expect(s().timeline).toHaveLength(TIMELINE_LIMIT)
  })

  it('tracks remote users and their tracks, including a track event before userJoined', () => {
    const { events, s } = setup()
    events.userJoined(5, '王芳')
    events.userVideoStart(5)
    events.userAudioStart(6)
    events.userSubStreamVideoStart(6)
    expect(s().remotes).toEqual({
      5: { uid: 5, audio: false, video: true, screen: false, displayName: '王芳' },
      6: { uid: 6, audio: true, video: false, screen: true },
    })
    events.userVideoStop(5)
    events.userSubStreamVideoStop(6)
    expect(s().remotes[6]?.screen).toBe(false)
    events.userLeft(6, 1)
    expect(s().remotes).toEqual({
      5: { uid: 5, audio: false, video: false, screen: false, displayName: '王芳' },
    })
  })

  it('Failed clears the call too', () => {
    const { events, s } = setup()
    events.userJoined(5)
    events.rtcStats({
      transport: 'udp',
      txKbps: 1,
      rxKbps: 1,
      txPacketLoss: 0,
      rxPacketLoss: 0,
      durationSeconds: 1,
    })
    events.connectionStateChanged(5, 11)
    expect(s()).toMatchObject({ remotes: {}, stats: null })
  })

  it('keeps stats, quality of the local uid, region probes', () => {
    const { events, s } = setup()
    const stats: RtcStats = {
      transport: 'tls',
      proxyAddress: '127.0.0.1:443',
      rttMs: 20,
      txKbps: 700,
      rxKbps: 650,
      txPacketLoss: 0,
      rxPacketLoss: 0.01,
      durationSeconds: 4,
    }
    events.joinChannel(0, 'room', 7, 100)
    events.rtcStats(stats)
    events.networkQuality(7, 1, 2)
    events.networkQuality(8, 5, 5)
    events.regionProbe({ regionId: 'sh', reachable: true, rttMs: 9, checks: [] })
    expect(s()).toMatchObject({ stats, quality: { tx: 1, rx: 2 } })
    expect(s().probes['sh']?.rttMs).toBe(9)
  })

  it('keeps remoteVideoStats and quality per remote uid; drops them when the user leaves or the call ends', () => {
    const { events, s } = setup()
    const video = (uid: number, rxFps: number): RemoteVideoStats => ({
      uid,
      rxKbps: 600,
      rxFps,
      width: 640,
      height: 360,
      temporalLayer: 2,
      packetLoss: 0,
      freezeCount: 0,
      frozenMs: 0,
    })
    events.joinChannel(0, 'room', 7, 100)
    events.userJoined(8)
    events.userJoined(9)
    events.remoteVideoStats([video(8, 30), video(9, 15), video(10, 30)])
    events.networkQuality(7, 1, 1)
    events.networkQuality(8, 2, 0)
    events.networkQuality(9, 4, 0)
    events.networkQuality(10, 4, 0)
    expect(s().remoteVideo).toEqual({ 8: video(8, 30), 9: video(9, 15) })
    expect(s().remoteQuality).toEqual({ 8: 2, 9: 4 })
    expect(s().quality).toEqual({ tx: 1, rx: 1 })
    events.userLeft(9, 1)
    expect(Object.keys(s().remoteVideo)).toEqual(['8'])
    expect(s().remoteQuality).toEqual({ 8: 2 })
    events.remoteVideoStats([])
    expect(s().remoteVideo).toEqual({})
    events.remoteVideoStats([video(8, 30)])
    events.leaveChannel(0)
    expect(s()).toMatchObject({ remoteVideo: {}, remoteQuality: {} })
  })

  it('turns error and warning events into a notice with the app’s sentence', () => {
    const { events, s } = setup()
    events.error({ code: ErrorCode.ProxyTlsUnreachable, message: 'm', detail: '10.0.0.1:443' })
    expect(s().notices.map((n) => [n.severity, n.code, n.sentence, n.detail])).toEqual([
      ['error', 30122, errorMessage(ErrorCode.ProxyTlsUnreachable), '10.0.0.1:443'],
    ])
    events.warning({ code: ErrorCode.SignalingLost, message: 'm' })
    expect(s().notices.map((n) => [n.severity, n.code, n.sentence])).toEqual([
      ['warning', 30201, appErrorMessage(ErrorCode.SignalingLost)],
    ])
  })

  it('an outage and a successful rejoin leave no notice above the call', () => {
    const { events, s } = setup()
    events.connectionStateChanged(2, 5)
    events.connectionStateChanged(3, 6)
    // The proxy goes away: signaling lost, reconnect attempts fail, then it is back.
    events.connectionStateChanged(4, 9)
    events.warning({ code: ErrorCode.SignalingLost, message: 'm' })
    expect(s().notices.map((n) => n.code)).toEqual([ErrorCode.SignalingLost])
    events.warning({ code: ErrorCode.MediaLost, message: 'm' })
    events.error({ code: ErrorCode.NoRegionReachable, message: 'm', detail: 'attempt 2' })
    expect(s().notices.map((n) => n.code)).toEqual([ErrorCode.NoRegionReachable])
    events.connectionStateChanged(3, 7)
    events.rejoinChannel(0, 'room', 7)
    expect(s().notices).toEqual([])
  })

  it('a failed join keeps the reported error as its cause until the next state change', () => {
    const { events, s } = setup()
    events.connectionStateChanged(2, 5)
    events.connectionStateChanged(5, 10)
    events.error({ code: ErrorCode.ProxySessionTokenInvalid, message: 'm', detail: '401 token_malformed' })
    expect(s().failureCode).toBe(ErrorCode.ProxySessionTokenInvalid)
    events.connectionStateChanged(2, 5)
    expect(s().failureCode).toBeNull()
  })

  it('a failure after a failure shows the newest cause only; a new join clears it', () => {
    const { events, s } = setup()
    events.connectionStateChanged(2, 5)
    events.connectionStateChanged(5, 10)
    events.error({ code: ErrorCode.ProxySessionTokenInvalid, message: 'm' })
    events.connectionStateChanged(2, 5)
    expect(s().notices).toEqual([])
    events.connectionStateChanged(5, 4)
    events.error({ code: ErrorCode.JoinTimeout, message: 'm' })
    expect(s().notices.map((n) => n.code)).toEqual([ErrorCode.JoinTimeout])
  })

  it('keeps one notice per slot, bounded; dismiss removes one', () => {
    const { events, s } = setup()
    for (let i = 0; i < 3; i++) events.error({ code: ErrorCode.Internal, message: 'm' })
    expect(s().notices).toHaveLength(1)
    for (let i = 0; i < NOTICE_LIMIT + 3; i++) {
      s().addNotice({ severity: 'error', code: null, sentence: 's', context: 'c', slot: `s${i}` }, i)
    }
    expect(s().notices).toHaveLength(NOTICE_LIMIT)
    const first = s().notices[0]!
    s().dismissNotice(first.id)
    expect(s().notices.some((n) => n.id === first.id)).toBe(false)
  })

  it('passes key frame requests to the media side', () => {
    const { events, effects } = setup()
    events.keyFrameRequested()
    expect(effects.keyFrameRequested).toHaveBeenCalledOnce()
  })

  it('a typed field clears a problem about that field only', () => {
    const { s } = setup()
    s().setFormProblem({ field: 'uid', problem: { key: 'common:joinForm.problem.enterUid' } })
    s().setField('channel', 'x')
    expect(s().formProblem).not.toBeNull()
    s().setField('uid', '5')
    expect(s().formProblem).toBeNull()
  })

  it('holds settings as the host gives them', () => {
    const { s } = setup()
    const settings: AppSettings = {
      cloudProxy: 2,
      allowedProxyModes: [2],
      activeCloudProxy: 1,
      region: 'auto',
      regions: [],
      connectionState: 3,
      channel: 'c',
      uid: 3,
      embedded: true,
      locked: ['cloudProxy'],
      devices: {},
      notes: [],
    }
    s().setSettings(settings)
    expect(s().settings).toBe(settings)
  })
})
