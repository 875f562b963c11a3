import type { StateCreator } from 'zustand/vanilla'
import type { AppState, DevicesSlice } from './types'

export const createDevicesSlice: StateCreator<AppState, [], [], DevicesSlice> = (set) => ({
  deviceLists: { camera: [], microphone: [], speaker: [] },
  deviceChoice: {},
  setDeviceLists: (deviceLists) => set({ deviceLists }),
  setDeviceChoice: (deviceChoice) => set({ deviceChoice }),
})
