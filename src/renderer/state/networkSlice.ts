import type { StateCreator } from 'zustand/vanilla'
import type { NetworkCheckReport } from '../../shared/networkCheck'
import type { AppState } from './store'

/** Which screen the window shows: the call, or the "Network check" for IT (issue 6). */
export type AppView = 'call' | 'network'

export type ExportStatus =
  | { status: 'idle' }
  | { status: 'writing' }
  | { status: 'written'; path: string }
  | { status: 'failed'; sentence: string }

/**
 * The network check view's state: the last report (each region's endpoints with status, RTT and the rule
 * to add), whether a check runs, and where the last diagnostics export went.
 */
export interface NetworkSlice {
  view: AppView
  networkReport: NetworkCheckReport | null
  networkChecking: boolean
  /** Why the last check gave no report (the host refused or went away). */
  networkProblem: string | null
  diagnosticsExport: ExportStatus
  setView(view: AppView): void
  networkCheckStarted(): void
  networkCheckDone(report: NetworkCheckReport): void
  networkCheckFailed(sentence: string): void
  exportStarted(): void
  exportDone(path: string): void
  exportFailed(sentence: string): void
}

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
