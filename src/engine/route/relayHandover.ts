import type { HandedTlsTurn, HandedTurn, TurnAllocation } from './turnProbe'

/**
 * The winning probe allocation — the UDP race's, or the TLS one — offered to the call's first
 * PeerConnection so that werift carries on with it instead of allocating again (issue 15: one TURN
 * allocation per join, docs/engine.md "Join round trips" steps 5 and T2). One of two things happens to it, once: the call takes it (`take`, werift owns it from
 * then on and closes it with the PeerConnection), or whoever selected the transport discards it (`discard`:
 * the join ended without a PeerConnection taking it, or the selection is a reconnect's, whose call may keep
 * its media) and it is released as every other probe allocation is (Refresh lifetime 0).
 */
export class RelayHandover {
  private state: 'offered' | 'taken' | 'discarded' = 'offered'
  private releasing: Promise<boolean> | undefined

  constructor(private readonly allocation: TurnAllocation) {}

  /** The allocation for werift; undefined once taken or discarded (werift then allocates its own). */
  take(): HandedTurn | HandedTlsTurn | undefined {
    if (this.state !== 'offered') return undefined
    const handed = this.allocation.handover?.() ?? this.allocation.handoverTls?.()
    // An allocation that cannot be handed on (an injected allocator's) stays to be released by `discard`.
    if (handed) this.state = 'taken'
    return handed
  }

  /** Releases the allocation unless a PeerConnection took it; resolves when that is done. */
  discard(): Promise<boolean> {
    if (this.state === 'offered') {
      this.state = 'discarded'
      this.releasing = this.allocation.release()
    }
    return this.releasing ?? Promise.resolve(true)
  }
}
