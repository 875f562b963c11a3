import type { RegionChoice, TransportType } from '../../shared/engine'
import type { CallHandle } from '../call/call'

/** The engine's join in progress or call (engine.ts): what joinChannel was given and how far it got. */
export interface ActiveJoin {
  controller: AbortController
  channel: string
  uid: number
  /** joinChannel's, normalised by DisplayNameSchema. */
  displayName?: string
  mode: TransportType
  /** setRegion as it was at joinChannel. */
  regionChoice: RegionChoice
  started: number
  /** 'request' until the proxy is connected and a transport chosen, then 'call'. */
  stage: 'request' | 'call'
  call?: CallHandle
}
