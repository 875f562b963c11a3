import type { StateCreator } from 'zustand/vanilla'
import type { NetworkQuality, RtcStats } from '../../shared/engine'
import type { AppState } from './store'

export interface RemoteUser {
  uid: number
  audio: boolean
  video: boolean
}

/** Receive figures measured in the renderer (decoder and playback), refreshed about once a second. */
export interface RemoteMediaFigures {
  framesDecoded: number
  fps: number
  /** RMS of the played audio over the last second, 0..1. */
  audioLevel: number
}

export interface CallSlice {
  remotes: Record<number, RemoteUser>
  remoteFigures: Record<number, RemoteMediaFigures>
  micOn: boolean
  camOn: boolean
  stats: RtcStats | null
  quality: { tx: NetworkQuality; rx: NetworkQuality } | null
  userJoined(uid: number): void
  userLeft(uid: number): void
  userTrack(uid: number, kind: 'audio' | 'video', on: boolean): void
  setRemoteFigures(figures: Record<number, RemoteMediaFigures>): void
  setStats(stats: RtcStats): void
  setQuality(tx: NetworkQuality, rx: NetworkQuality): void
  setMic(on: boolean): void
  setCam(on: boolean): void
  /** The call ended (left, kicked, failed): no remote users, no figures. */
  clearCall(): void
}

const user = (uid: number, previous?: RemoteUser): RemoteUser =>
  previous ?? { uid, audio: false, video: false }

export const createCallSlice: StateCreator<AppState, [], [], CallSlice> = (set) => ({
  remotes: {},
  remoteFigures: {},
  micOn: true,
  camOn: true,
  stats: null,
  quality: null,
  userJoined: (uid) => set((s) => ({ remotes: { ...s.remotes, [uid]: user(uid, s.remotes[uid]) } })),
  userLeft: (uid) =>
    set((s) => {
      const { [uid]: _gone, ...remotes } = s.remotes
      const { [uid]: _figures, ...remoteFigures } = s.remoteFigures
      return { remotes, remoteFigures }
    }),
  // A track event for a user we have not seen joining still means they are there.
  userTrack: (uid, kind, on) =>
    set((s) => ({ remotes: { ...s.remotes, [uid]: { ...user(uid, s.remotes[uid]), [kind]: on } } })),
  setRemoteFigures: (remoteFigures) => set({ remoteFigures }),
  setStats: (stats) => set({ stats }),
  setQuality: (tx, rx) => set({ quality: { tx, rx } }),
  setMic: (micOn) => set({ micOn }),
  setCam: (camOn) => set({ camOn }),
  clearCall: () => set({ remotes: {}, remoteFigures: {}, stats: null, quality: null }),
})
