import type { JoinStep } from '../../src/engine'
import type { Region, TransportType } from '../../src/shared/engine'

/** Ops of the lab bench's agent (bench/join/labAgent.ts), over e2e/lab/agents/protocol.ts's JSON lines. */

export interface PublishArgs {
  /** The conference server's signaling URL: the publisher joins it directly, from inside `srv`. */
  signalUrl: string
  token: string
  channel: string
  uid: number
}

export interface JoinArgs {
  region: Region
  mode: TransportType
  token: string
  channel: string
  uid: number
  /** Whose first video frame ends the measurement. */
  publisherUid: number
  frameTimeoutMs: number
  /** A warm join: `prepareJoin` first (not timed), then the join. */
  warm?: boolean
}

/** ms from the joinChannel call. */
export interface JoinFigures {
  connectedMs: number
  /** undefined: no frame within frameTimeoutMs. */
  firstFrameMs?: number
  steps: [JoinStep, number][]
}

export interface BenchAgentOps {
  publish: [PublishArgs, Record<string, never>]
  join: [JoinArgs, JoinFigures]
}
