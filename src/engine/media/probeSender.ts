import type { ProbeRequest } from '../../protocol/media/bwe/types'
import type { Clock } from '../defaults'

/**
 * Sends one probe cluster (docs/media.md "Bandwidth estimation"): `bitrateBps` for `durationMs`, in
 * `PROBE_PACKET_BYTES` packets spread over the duration (a timer every few ms sends what is due), at least
 * `MIN_PACKETS` of them so the receiver's report can measure a rate. What a packet is and how it goes out
 * is the caller's (`send`); a new cluster replaces one still running.
 */

/** Bytes of one probe packet on the wire (RTP header, transport-wide extension, payload, SRTP tag). */
export const PROBE_PACKET_BYTES = 1000
const MIN_PACKETS = 6
const TICK_MS = 2

export class ProbeSender {
  private timer: unknown
  private stopped = false

  constructor(
    private readonly clock: Clock,
    private readonly send: (probeId: number, bytes: number) => void,
  ) {}

  /** Packets a cluster sends in all. */
  static packetsFor(request: ProbeRequest): number {
    const bytes = (request.bitrateBps * request.durationMs) / 8000
    return Math.max(MIN_PACKETS, Math.ceil(bytes / PROBE_PACKET_BYTES))
  }

  start(request: ProbeRequest): void {
    if (this.stopped) return
    this.clock.clearTimeout(this.timer)
    const total = ProbeSender.packetsFor(request)
    const startMs = this.clock.now()
    // The cluster's packets go out evenly: packet i at i × spacing.
    const spacingMs = (PROBE_PACKET_BYTES * 8000) / request.bitrateBps
    let sent = 0
    const tick = (): void => {
      this.timer = undefined
      if (this.stopped) return
      const due = Math.min(total, Math.floor((this.clock.now() - startMs) / spacingMs) + 1)
      for (; sent < due; sent++) this.send(request.id, PROBE_PACKET_BYTES)
      if (sent < total) this.timer = this.clock.setTimeout(tick, Math.min(TICK_MS, spacingMs))
    }
    tick()
  }

  stop(): void {
    this.stopped = true
    this.clock.clearTimeout(this.timer)
  }
}
