import type { StateCreator } from 'zustand/vanilla'
import type { AppState, LevelsSlice } from './types'

export const createLevelsSlice: StateCreator<AppState, [], [], LevelsSlice> = (set) => ({
  audioLevels: {},
  setAudioLevels: (audioLevels) => set({ audioLevels }),
})
