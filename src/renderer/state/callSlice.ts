import type { StateCreator } from 'zustand/vanilla'
import type { AppState, CallSlice, RemoteUser } from './types'

const user = (uid: number, previous?: RemoteUser): RemoteUser =>
  previous ?? { uid, audio: false, video: false, screen: false }

export const createCallSlice: StateCreator<AppState, [], [], CallSlice> = (set) => ({
  remotes: {},
  remoteFigures: {},
  micOn: true,
  camOn: true,
  stats: null,
  quality: null,
  remoteVideo: {},
  remoteQuality: {},
  userJoined: (uid, displayName) =>
    set((s) => {
      const known = user(uid, s.remotes[uid])
      return {
        remotes: { ...s.remotes, [uid]: displayName === undefined ? known : { ...known, displayName } },
      }
    }),
  userLeft: (uid) =>
    set((s) => {
      const { [uid]: _gone, ...remotes } = s.remotes
      const { [uid]: _figures, ...remoteFigures } = s.remoteFigures
      const { [uid]: _video, ...remoteVideo } = s.remoteVideo
      const { [uid]: _quality, ...remoteQuality } = s.remoteQuality
      return { remotes, remoteFigures, remoteVideo, remoteQuality }
    }),
  // A track event for a user we have not seen joining still means they are there.
  userTrack: (uid, kind, on) =>
    set((s) => ({ remotes: { ...s.remotes, [uid]: { ...user(uid, s.remotes[uid]), [kind]: on } } })),
  setRemoteFigures: (remoteFigures) => set({ remoteFigures }),
  setStats: (stats) => set({ stats }),
  setQuality: (tx, rx) => set({ quality: { tx, rx } }),
  // A report that crossed a userLeft does not bring the user back.
  setRemoteVideo: (stats) =>
    set((s) => ({
      remoteVideo: Object.fromEntries(stats.filter((v) => s.remotes[v.uid]).map((v) => [v.uid, v])),
    })),
  setRemoteQuality: (uid, quality) => set((s) => ({ remoteQuality: { ...s.remoteQuality, [uid]: quality } })),
  setMic: (micOn) => set({ micOn }),
  setCam: (camOn) => set({ camOn }),
  clearCall: () =>
    set({ remotes: {}, remoteFigures: {}, stats: null, quality: null, remoteVideo: {}, remoteQuality: {} }),
})
