import type { PeerMediaOptions } from '../media/peerMedia'
import type { ReconnectPolicy } from './reconnectPolicy'
import type { SignalingTimings } from './signalingClient'

/** Options of the default call (callSession.ts), `createEngine({ call })`; defaults below and in docs/engine.md. */
export interface CallOptions {
  reconnect?: ReconnectPolicy
  signaling?: Partial<SignalingTimings>
  pacer?: PeerMediaOptions['pacer']
  remote?: PeerMediaOptions['remote']
  /** A PeerConnection that stays `disconnected` this long has lost its path. */
  mediaGraceMs?: number
  /** One reconnect attempt (signaling, join, media) gets this long. */
  attemptTimeoutMs?: number
  /** `rtcStats` / `networkQuality` every this many ms while in the call (default 2000). */
  statsIntervalMs?: number
}

export const CALL_DEFAULTS = { mediaGraceMs: 3000, attemptTimeoutMs: 10_000 } as const
