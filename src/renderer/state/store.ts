import { createStore } from 'zustand/vanilla'
import { createCallSlice } from './callSlice'
import { createConnectionSlice } from './connectionSlice'
import { createDevicesSlice } from './devicesSlice'
import { createFormSlice } from './formSlice'
import { createLevelsSlice } from './levelsSlice'
import { createNetworkSlice } from './networkSlice'
import { createNoticesSlice } from './noticesSlice'
import { createSettingsSlice } from './settingsSlice'
import { createShareSlice } from './shareSlice'
import type { AppState, AppStore } from './types'

/** A fresh store: one per app start, one per test. */
export function createAppStore(): AppStore {
  return createStore<AppState>()((...a) => ({
    ...createSettingsSlice(...a),
    ...createConnectionSlice(...a),
    ...createCallSlice(...a),
    ...createNoticesSlice(...a),
    ...createFormSlice(...a),
    ...createNetworkSlice(...a),
    ...createDevicesSlice(...a),
    ...createLevelsSlice(...a),
    ...createShareSlice(...a),
  }))
}
