import type { StateCreator } from 'zustand/vanilla'
import type { AppState, NetworkSlice } from './types'

export const createNetworkSlice: StateCreator<AppState, [], [], NetworkSlice> = (set) => ({
  view: 'call',
  networkReport: null,
  networkChecking: false,
  networkProblem: null,
  diagnosticsExport: { status: 'idle' },
  setView: (view) => set({ view }),
  // The previous report stays on screen while the next one runs.
  networkCheckStarted: () => set({ networkChecking: true, networkProblem: null }),
  networkCheckDone: (networkReport) => set({ networkReport, networkChecking: false, networkProblem: null }),
  networkCheckFailed: (networkProblem) => set({ networkChecking: false, networkProblem }),
  exportStarted: () => set({ diagnosticsExport: { status: 'writing' } }),
  exportDone: (path) => set({ diagnosticsExport: { status: 'written', path } }),
  exportFailed: (sentence) => set({ diagnosticsExport: { status: 'failed', sentence } }),
})
