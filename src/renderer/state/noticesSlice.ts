import type { StateCreator } from 'zustand/vanilla'
import type { Notice, NoticeInput } from '../logic/notices'
import type { AppState } from './store'

export interface NoticesSlice {
  notices: Notice[]
  addNotice(notice: NoticeInput, atMs: number): void
  dismissNotice(id: number): void
  clearNotices(): void
}

export const NOTICE_LIMIT = 20

export const createNoticesSlice: StateCreator<AppState, [], [], NoticesSlice> = (set) => {
  let nextId = 1
  return {
    notices: [],
    addNotice: (notice, atMs) =>
      set((s) => ({ notices: [...s.notices, { ...notice, id: nextId++, atMs }].slice(-NOTICE_LIMIT) })),
    dismissNotice: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
    clearNotices: () => set({ notices: [] }),
  }
}
