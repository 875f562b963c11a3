import type { StateCreator } from 'zustand/vanilla'
import type { AppState, CallSlice, RemoteUser } from './types'

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
