import type { StateCreator } from 'zustand/vanilla'
import type { AppState, ShareSlice } from './types'

export const createShareSlice: StateCreator<AppState, [], [], ShareSlice> = (set) => ({
  sharing: false,
  sharePicker: null,
  shareProblem: null,
  setSharing: (sharing) => set(sharing ? { sharing, shareProblem: null } : { sharing }),
  openSharePicker: (sources) => set({ sharePicker: sources, shareProblem: null }),
  closeSharePicker: () => set({ sharePicker: null }),
  setShareProblem: (shareProblem) => set({ shareProblem }),
})
