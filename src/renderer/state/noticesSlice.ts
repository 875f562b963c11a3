import type { StateCreator } from 'zustand/vanilla'
import { placeNotice, type Notice, type NoticeInput } from '../logic/notices'
import type { AppState } from './store'

export interface NoticesSlice {
  notices: Notice[]
  /** Puts the notice in its slot, replacing the one there (logic/notices.ts). */
  addNotice(notice: NoticeInput, atMs: number): void
  dismissNotice(id: number): void
  /** Empties one slot (its cause is over), or every slot. */
  clearNotices(slot?: string): void
}

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
