import type { PacketResult } from './types'

/**
 * Packet groups and their delay variation (draft-ietf-rmcat-gcc-02 §5.1-5.2). Packets sent within
 * `BURST_MS` of a group's first packet form one group (a frame's packets leave the pacer together); for two
 * consecutive groups, d = (arrival delta) − (send delta) of their last packets. A growing queue makes d
 * positive; d alone is noisy, so the trendline filter looks at its accumulated slope.
 */

const BURST_MS = 5

export interface DelayDelta {
  /** Arrival time of the group that completes this delta, receiver's clock. */
  arrivalMs: number
  /** Send-time delta between the two groups. */
  sendDeltaMs: number
  /** The group delay variation d, ms. */
  delayDeltaMs: number
}

interface Group {
  firstSendMs: number
  lastSendMs: number
  lastArrivalMs: number
}

export class InterArrival {
  private current: Group | null = null
  private previous: Group | null = null

  /** Feed one received packet (lost ones are skipped by the caller); returns a delta when a group completes. */
  add(packet: PacketResult & { arrivalTimeMs: number }): DelayDelta | null {
    const { sendTimeMs, arrivalTimeMs } = packet
    const group = this.current
    if (group && sendTimeMs < group.firstSendMs) return null // reordered from an older group: ignore
    if (group && sendTimeMs - group.firstSendMs <= BURST_MS) {
      group.lastSendMs = Math.max(group.lastSendMs, sendTimeMs)
      group.lastArrivalMs = Math.max(group.lastArrivalMs, arrivalTimeMs)
      return null
    }
    const completed = this.previous && group ? this.delta(this.previous, group) : null
    if (group) this.previous = group
    this.current = { firstSendMs: sendTimeMs, lastSendMs: sendTimeMs, lastArrivalMs: arrivalTimeMs }
    return completed
  }

  private delta(previous: Group, group: Group): DelayDelta {
    const sendDeltaMs = group.lastSendMs - previous.lastSendMs
    const arrivalDeltaMs = group.lastArrivalMs - previous.lastArrivalMs
    return { arrivalMs: group.lastArrivalMs, sendDeltaMs, delayDeltaMs: arrivalDeltaMs - sendDeltaMs }
  }
}
