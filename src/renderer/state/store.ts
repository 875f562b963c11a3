import { createStore, type StoreApi } from 'zustand/vanilla'
import { createCallSlice, type CallSlice } from './callSlice'
import { createConnectionSlice, type ConnectionSlice } from './connectionSlice'
import { createFormSlice, type FormSlice } from './formSlice'
import { createNetworkSlice, type NetworkSlice } from './networkSlice'
import { createNoticesSlice, type NoticesSlice } from './noticesSlice'
import { createSettingsSlice, type SettingsSlice } from './settingsSlice'

/** The one renderer store (docs/renderer.md "State"): a thin layer of typed slices, fed by engine events. */
export type AppState = SettingsSlice & ConnectionSlice & CallSlice & NoticesSlice & FormSlice & NetworkSlice
export type AppStore = StoreApi<AppState>

/** A fresh store: one per app start, one per test. */
export function createAppStore(): AppStore {
  return createStore<AppState>()((...a) => ({
    ...createSettingsSlice(...a),
    ...createConnectionSlice(...a),
    ...createCallSlice(...a),
    ...createNoticesSlice(...a),
    ...createFormSlice(...a),
    ...createNetworkSlice(...a),
  }))
}
