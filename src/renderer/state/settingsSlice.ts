import type { StateCreator } from 'zustand/vanilla'
import type { RegionProbeResult } from '../../shared/engine'
import type { AppSettings } from '../../shared/ipc'
import type { AppState } from './store'

/** What the host says the controls are (AppSettings) and what region probes measured. */
export interface SettingsSlice {
  settings: AppSettings | null
  probes: Record<string, RegionProbeResult>
  probing: boolean
  setSettings(settings: AppSettings): void
  addProbe(result: RegionProbeResult): void
  setProbing(probing: boolean): void
}

export const createSettingsSlice: StateCreator<AppState, [], [], SettingsSlice> = (set) => ({
  settings: null,
  probes: {},
  probing: false,
  setSettings: (settings) => set({ settings }),
  addProbe: (result) => set((s) => ({ probes: { ...s.probes, [result.regionId]: result } })),
  setProbing: (probing) => set({ probing }),
})
