import type { StateCreator } from 'zustand/vanilla'
import { placeNotice } from '../logic/notices'
import type { AppState, NoticesSlice } from './types'

/** A bound for slots named by actions; with one notice per slot the list stays far below it. */
export const NOTICE_LIMIT = 20

export const createNoticesSlice: StateCreator<AppState, [], [], NoticesSlice> = (set) => {
  let nextId = 1
  return {
    notices: [],
    addNotice: (notice, atMs) =>
      set((s) => ({ notices: placeNotice(s.notices, { ...notice, id: nextId++, atMs }, NOTICE_LIMIT) })),
    dismissNotice: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
    clearNotices: (slot) =>
      set((s) => {
        const notices = slot === undefined ? [] : s.notices.filter((n) => n.slot !== slot)
        // The same array when nothing goes: subscribers do not re-render for nothing.
        return notices.length === s.notices.length ? {} : { notices }
      }),
  }
}
