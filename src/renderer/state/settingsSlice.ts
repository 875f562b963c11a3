import type { StateCreator } from 'zustand/vanilla'
import type { AppState, SettingsSlice } from './types'

export const createSettingsSlice: StateCreator<AppState, [], [], SettingsSlice> = (set) => ({
  settings: null,
  probes: {},
  probing: false,
  setSettings: (settings) => set({ settings }),
  addProbe: (result) => set((s) => ({ probes: { ...s.probes, [result.regionId]: result } })),
  setProbing: (probing) => set({ probing }),
})
