import type { StateCreator } from 'zustand/vanilla'
import type { AppState, FormSlice } from './types'

export const createFormSlice: StateCreator<AppState, [], [], FormSlice> = (set) => ({
  form: { channel: '', uid: '', token: '' },
  formProblem: null,
  setField: (field, value) =>
    set((s) => ({
      form: { ...s.form, [field]: value },
      formProblem: s.formProblem?.field === field ? null : s.formProblem,
    })),
  setFormProblem: (formProblem) => set({ formProblem }),
  displayName: '',
  setDisplayName: (displayName) => set({ displayName }),
  joinedName: null,
  setJoinedName: (joinedName) => set({ joinedName }),
})
