import type { ClientTransport, IgnoreReason } from './types'

/** Per-packet counters: plain numbers, written on every relayed packet. */
export interface HotCounters {
  clientToPeerPackets: number
  clientToPeerBytes: number
  peerToClientPackets: number
  peerToClientBytes: number
}

/**
 * What the TURN core reports. `ProxyMetrics` implements it for /metrics; `TurnStats` below is the
 * in-memory version the core uses when nothing is injected (tests read it).
 */
export interface TurnStatsSink {
  readonly hot: HotCounters
  /** Every input the core drops without answering, with where it came from. */
  ignored(reason: IgnoreReason, source: ClientTransport | 'peer'): void
  authFailure(reason: string): void
  refusedPeer(reason: string): void
  errorSent(code: number): void
  allocationCreated(): void
  allocationEnded(): void
}

export class TurnStats implements TurnStatsSink {
  readonly hot: HotCounters = {
    clientToPeerPackets: 0,
    clientToPeerBytes: 0,
    peerToClientPackets: 0,
    peerToClientBytes: 0,
  }
  readonly ignoredBy = new Map<IgnoreReason, number>()
  readonly authFailures = new Map<string, number>()
  readonly refusedPeers = new Map<string, number>()
  readonly errorsSent = new Map<number, number>()
  allocationsCreated = 0
  allocationsEnded = 0

  ignored(reason: IgnoreReason): void {
    add(this.ignoredBy, reason)
  }
  authFailure(reason: string): void {
    add(this.authFailures, reason)
  }
  refusedPeer(reason: string): void {
    add(this.refusedPeers, reason)
  }
  errorSent(code: number): void {
    add(this.errorsSent, code)
  }
  allocationCreated(): void {
    this.allocationsCreated++
  }
  allocationEnded(): void {
    this.allocationsEnded++
  }

  totalIgnored(): number {
    let total = 0
    for (const n of this.ignoredBy.values()) total += n
    return total
  }
}

function add<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}
