import type { PinholeApi } from '../shared/ipc'

declare global {
  interface Window {
    /** The preload bridge (src/preload/index.ts), typed by the IPC contract. */
    readonly pinhole: PinholeApi
  }
}

export {}
