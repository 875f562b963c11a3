import { ConnectionState } from '../../shared/engine'
import type { PinholeApi } from '../../shared/ipc'
import type { VideoTrack } from '../../shared/mediaPort'
import { IPC_EVENTS, type IpcEventName, type IpcEvents } from '../../shared/ipcChannels'
import { CONNECTION_SLOT, noticeFromInfo } from '../logic/notices'
import type { AppStore } from './types'

/** What an engine event makes happen outside the store (media, settings refresh): the controller's part. */
export interface EventEffects {
  /** The server wants a key frame of our camera (no track) or of our screen share. */
  keyFrameRequested(track?: VideoTrack): void
  connectionStateChanged(state: ConnectionState): void
  /** A remote user left: their decoders and playback can go. */
  userLeft(uid: number): void
}

type Handlers = { [E in IpcEventName]: (...args: IpcEvents[E]) => void }

/** One handler per event of the contract: a new event in the map fails to compile here until handled. */
export function engineEventHandlers(store: AppStore, effects: EventEffects, now: () => number): Handlers {
  const s = store.getState
  return {
    connectionStateChanged: (state, reason) => {
      // A new state is a new situation: the last one's cause is over (the engine reports the new one's
      // cause right after the change), and Connected — joined or rejoined — leaves no notice behind.
      s().clearNotices(CONNECTION_SLOT)
      s().stateChanged(state, reason, now())
      if (state === ConnectionState.Disconnected || state === ConnectionState.Failed) s().clearCall()
      effects.connectionStateChanged(state)
    },
    proxyConnected: (info) => s().proxyConnected(info),
    joinChannel: (result, channel, uid, elapsedMs) => s().joinResult(result, channel, uid, elapsedMs),
    rejoinChannel: (result, channel, uid) => {
      if (result === 0) s().joinResult(result, channel, uid, s().joined?.elapsedMs ?? 0)
    },
    leaveChannel: () => s().clearCall(),
    userJoined: (uid, displayName) => s().userJoined(uid, displayName),
    userLeft: (uid) => {
      s().userLeft(uid)
      effects.userLeft(uid)
    },
    userAudioStart: (uid) => s().userTrack(uid, 'audio', true),
    userAudioStop: (uid) => s().userTrack(uid, 'audio', false),
    userVideoStart: (uid) => s().userTrack(uid, 'video', true),
    userVideoStop: (uid) => s().userTrack(uid, 'video', false),
    userSubStreamVideoStart: (uid) => s().userTrack(uid, 'screen', true),
    userSubStreamVideoStop: (uid) => s().userTrack(uid, 'screen', false),
    keyFrameRequested: (track) => effects.keyFrameRequested(track),
    rtcStats: (stats) => s().setStats(stats),
    remoteVideoStats: (stats) => s().setRemoteVideo(stats),
    networkQuality: (uid, tx, rx) => {
      if (uid === s().joined?.uid || s().joined === null) s().setQuality(tx, rx)
      // A remote user's: how their media reaches us (tx); a user who already left is not brought back.
      else if (s().remotes[uid]) s().setRemoteQuality(uid, tx)
    },
    regionProbe: (result) => s().addProbe(result),
    error: (info) => {
      s().setFailure(info.code)
      s().addNotice(noticeFromInfo(info, 'Connection', 'error', CONNECTION_SLOT), now())
    },
    warning: (info) => s().addNotice(noticeFromInfo(info, 'Connection', 'warning', CONNECTION_SLOT), now()),
  }
}

/** Subscribes the store to every event of the bridge; returns the unsubscribe. */
export function bindEngineEvents(
  bridge: Pick<PinholeApi, 'on'>,
  store: AppStore,
  effects: EventEffects,
  now: () => number = Date.now,
): () => void {
  const handlers = engineEventHandlers(store, effects, now)
  const offs = IPC_EVENTS.map((name) => subscribe(bridge, name, handlers))
  return () => offs.forEach((off) => off())
}

function subscribe<E extends IpcEventName>(
  bridge: Pick<PinholeApi, 'on'>,
  name: E,
  handlers: Handlers,
): () => void {
  const handler = handlers[name] as (...args: IpcEvents[E]) => void
  return bridge.on(name, (...args) => handler(...args))
}
