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

/** What the traffic agent's UDP sink received since its last reset. Times are epoch ms (performance). */
export interface SinkCount {
  packets: number
  /** UDP payload bytes. */
  bytes: number
  firstAt: number | null
  lastAt: number | null
  /** Payload bytes of the first datagram (a rate from first to last arrival excludes it). */
  firstBytes: number
}

export interface PingResult {
  sent: number
  /** Round-trip ms per sequence number, null when no echo came back. */
  rtts: (number | null)[]
  /** Sequence numbers in the order their echoes arrived. */
  arrivalOrder: number[]
}

export interface DownloadResult {
  bytes: number
  /** Bytes that differ from the pattern the server sends (0: the stream arrived intact). */
  corrupt: number
  /** [ms since the request, bytes received so far], one per read. */
  samples: [number, number][]
}

export interface TrafficOps {
  /** Server side: UDP echo, UDP sink and a TCP server that streams the requested number of pattern bytes. */
  serve: [{ host: string; echoPort: number; sinkPort: number; tcpPort: number }, Record<string, never>]
  /** Server side: datagrams echoed so far, and the sink's count (reset with `reset: true`). */
  served: [{ reset: boolean }, { echoed: number; sink: SinkCount }]
  /** Client side: `count` numbered datagrams of `bytes`, `perTick` every `tickMs`, echoes awaited `settleMs`. */
  ping: [
    {
      host: string
      port: number
      count: number
      bytes: number
      perTick: number
      tickMs: number
      settleMs: number
    },
    PingResult,
  ]
  /** Client side: datagrams of `bytes` at `kbps` (UDP payload) for `durationMs`. */
  blast: [{ host: string; port: number; kbps: number; bytes: number; durationMs: number }, { sent: number }]
  /** Client side: one TCP connection that asks for `bytes` and checks every byte of the pattern. */
  download: [{ host: string; port: number; bytes: number }, DownloadResult]
}

/** Byte `i` of the TCP stream the traffic agent serves: a 251-byte cycle (prime, so no alignment hides a shift). */
export const patternByte = (i: number): number => i % 251
