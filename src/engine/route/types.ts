/**
 * Types the route files share without importing one another. The transport a selection settles on is made
 * by pathSelect.ts and read by httpProxy.ts (werift's TURN through the corporate proxy), which pathSelect.ts
 * itself imports. Of the route files it imports only relayHandover.ts (a type), and httpProxy.ts takes the
 * selection by shape, so no import cycle goes through it (e2e/lint/cycles.test.ts).
 */
import type { RTCPeerConnectionConfig } from 'werift'
import type { MediaTransport, TransportAttempt, TransportType } from '../../shared/engine'
import type { RelayHandover } from './relayHandover'

export interface TransportSelection {
  mode: TransportType
  transport: MediaTransport
  /** host:port of the TURN server, or the direct signaling URL. */
  target: string
  signalUrl: string
  turn?: { url: string; username: string; credential: string }
  /** What to construct werift's RTCPeerConnection with: one ICE server, relay only in proxy modes. */
  rtcConfig: RTCPeerConnectionConfig
  elapsedMs: number
  attempts: TransportAttempt[]
  /** Settles once every probe allocation (a slow loser included) has been released, but `relay`. */
  released: Promise<void>
  /** The winning probe allocation (UDP race or TLS), for the call's first PeerConnection (relayHandover.ts). */
  relay?: RelayHandover
}
