/**
 * Ops of the link emulator process (linkEmulator.mts) and of the traffic agent that measures it
 * (traffic.mts, used by linkEmulator.test.ts), in the JSON-lines protocol of protocol.ts.
 */
import type { LinkProfile, LinkStats } from '../delayLine'

export interface LinkOps {
  /** Both directions at once; takes effect for the next packet, held packets keep their release times. */
  set: [LinkProfile, Record<string, never>]
  stats: [Record<string, never>, LinkStats]
}
