import { Counter, Gauge, type Registry } from 'prom-client'
import type { DropReason } from './layerForwarder'
import type { RetransmitResult } from './retransmitBudget'

/** Something whose forwarded temporal layer is live state (a subscriber's video path). */
export interface LayeredPath {
  readonly layer: number
}

/**
 * Temporal-layer forwarding figures (docs/sfu.md "Operations"): packets forwarded per layer and dropped
 * per reason are plain numbers on the hot path, folded into prom-client counters at scrape time; the
 * subscriptions per forwarded layer are read from the live paths.
 */
export class LayerMetrics {
  private readonly forwarded = [0, 0, 0]
  private readonly reportedForwarded = [0, 0, 0]
  private readonly dropped = new Map<DropReason, number>()
  private readonly reportedDropped = new Map<DropReason, number>()
  private readonly paths = new Set<LayeredPath>()
  private held = 0
  private reportedHeld = 0
  private readonly retransmits = new Map<RetransmitResult, number>()
  private readonly reportedRetransmits = new Map<RetransmitResult, number>()

  constructor(registry: Registry, prefix: string) {
    const registers = [registry]
    const forwarded: Counter<'layer'> = new Counter({
      name: `${prefix}layer_forwarded_packets_total`,
      help: 'VP8 packets of publishers with temporal layers forwarded to subscribers, by temporal layer',
      labelNames: ['layer'],
      registers,
      collect: () => {
        this.forwarded.forEach((total, layer) => {
          const delta = total - (this.reportedForwarded[layer] ?? 0)
          if (delta > 0) forwarded.inc({ layer: String(layer) }, delta)
          this.reportedForwarded[layer] = total
        })
      },
    })
    const dropped: Counter<'reason'> = new Counter({
      name: `${prefix}layer_dropped_packets_total`,
      help: 'VP8 packets of publishers with temporal layers not forwarded to a subscriber: layer, beforeKeyframe, duplicate, tooOld, malformed',
      labelNames: ['reason'],
      registers,
      collect: () => {
        for (const [reason, total] of this.dropped) {
          const delta = total - (this.reportedDropped.get(reason) ?? 0)
          if (delta > 0) dropped.inc({ reason }, delta)
          this.reportedDropped.set(reason, total)
        }
      },
    })
    const held: Counter = new Counter({
      name: `${prefix}layer_keyframe_requests_held_total`,
      help: 'Key frame requests of subscribers on a thinned link not passed on to the publisher (one per 1-2 s at most)',
      registers,
      collect: () => {
        if (this.held > this.reportedHeld) held.inc(this.held - this.reportedHeld)
        this.reportedHeld = this.held
      },
    })
    const retransmits: Counter<'result'> = new Counter({
      name: `${prefix}layer_retransmissions_total`,
      help: 'Packets subscribers of publishers with temporal layers NACKed, by what the server did: sent, budget (over the link budget), stale (too late to be used), layer (a layer no longer forwarded), unknown (not in the history)',
      labelNames: ['result'],
      registers,
      collect: () => {
        for (const [result, total] of this.retransmits) {
          const delta = total - (this.reportedRetransmits.get(result) ?? 0)
          if (delta > 0) retransmits.inc({ result }, delta)
          this.reportedRetransmits.set(result, total)
        }
      },
    })
    const layered: Gauge<'layer'> = new Gauge({
      name: `${prefix}layered_subscriptions`,
      help: 'Video subscriptions to publishers with temporal layers, by the highest layer forwarded now',
      labelNames: ['layer'],
      registers,
      collect: () => {
        const counts = [0, 0, 0]
        for (const path of this.paths) counts[path.layer] = (counts[path.layer] ?? 0) + 1
        counts.forEach((count, layer) => layered.set({ layer: String(layer) }, count))
      },
    })
  }

  forwardedPacket(layer: number): void {
    this.forwarded[layer] = (this.forwarded[layer] ?? 0) + 1
  }

  droppedPacket(reason: DropReason): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1)
  }

  retransmission(result: RetransmitResult): void {
    this.retransmits.set(result, (this.retransmits.get(result) ?? 0) + 1)
  }

  keyframeRequestHeld(): void {
    this.held++
  }

  track(path: LayeredPath): void {
    this.paths.add(path)
  }

  untrack(path: LayeredPath): void {
    this.paths.delete(path)
  }
}
