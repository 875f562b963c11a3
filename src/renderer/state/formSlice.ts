import type { StateCreator } from 'zustand/vanilla'
import type { AppState } from './store'

export type JoinField = 'channel' | 'uid' | 'token'

/** The join form's text as typed, and why it was refused (nothing was sent in that case). */
export interface FormSlice {
  form: Record<JoinField, string>
  formProblem: { field: JoinField; sentence: string } | null
  setField(field: JoinField, value: string): void
  setFormProblem(problem: FormSlice['formProblem']): void
}

export const createFormSlice: StateCreator<AppState, [], [], FormSlice> = (set) => ({
  form: { channel: '', uid: '', token: '' },
  formProblem: null,
  setField: (field, value) =>
    set((s) => ({
      form: { ...s.form, [field]: value },
      formProblem: s.formProblem?.field === field ? null : s.formProblem,
    })),
  setFormProblem: (formProblem) => set({ formProblem }),
})
