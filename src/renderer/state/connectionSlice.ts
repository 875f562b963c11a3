import type { StateCreator } from 'zustand/vanilla'
import { ConnectionReason, ConnectionState } from '../../shared/engine'
import type { AppState, ConnectionSlice } from './types'

/** Long sessions reconnect many times; the panel keeps the most recent transitions. */
export const TIMELINE_LIMIT = 200

export const createConnectionSlice: StateCreator<AppState, [], [], ConnectionSlice> = (set) => ({
  connectionState: ConnectionState.Disconnected,
  connectionReason: null,
  timeline: [],
  proxyPath: null,
  joined: null,
  failureCode: null,
  busy: false,
  stateChanged: (state, reason, atMs) =>
    set((s) => {
      const startsJoin = state === ConnectionState.Connecting && reason === ConnectionReason.JoinChannel
      return {
        connectionState: state,
        connectionReason: reason,
        timeline: [...s.timeline, { atMs, state, reason }].slice(-TIMELINE_LIMIT),
        // A new join forgets the last call's path; Disconnected forgets the call.
        proxyPath: startsJoin ? null : s.proxyPath,
        joined: state === ConnectionState.Disconnected || startsJoin ? null : s.joined,
        // The engine reports the new state's error right after the change.
        failureCode: null,
      }
    }),
  proxyConnected: (info) => set({ proxyPath: info }),
  joinResult: (result, channel, uid, elapsedMs) =>
    set({ joined: result === 0 ? { channel, uid, elapsedMs } : null }),
  setBusy: (busy) => set({ busy }),
  setFailure: (failureCode) => set({ failureCode }),
})
