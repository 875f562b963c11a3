import type { HandedTlsTurn, HandedTurn, TurnAllocation, TurnCredentials } from './turnProbe'

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

  /**
   * `credentials`: the session's (TURN REST), which werift uses on the allocation from then on (Refresh,
   * CreatePermission, ChannelBind) whatever credentials made it: one made early with the join token's
   * (earlyRelay.ts) must outlive the token, which may expire long before the call ends; the proxy accepts
   * another credential of the same user on an allocation (docs/protocol.md "TURN credentials").
   */
  constructor(
    private readonly allocation: TurnAllocation,
    private readonly credentials?: Pick<TurnCredentials, 'username' | 'credential'>,
  ) {}

  /** The allocation for werift; undefined once taken or discarded (werift then allocates its own). */
  take(): HandedTurn | HandedTlsTurn | undefined {
    if (this.state !== 'offered') return undefined
    const handed = this.allocation.handover?.() ?? this.allocation.handoverTls?.()
    // An allocation that cannot be handed on (an injected allocator's) stays to be released by `discard`.
    if (!handed) return undefined
    this.state = 'taken'
    const { username, credential } = this.credentials ?? handed.credentials
    return { ...handed, credentials: { username, credential } }
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
