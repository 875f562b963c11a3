import type { Clock, EngineLogger } from '../defaults'
import type { PeerState } from './peerMedia'

/**
 * When the call's media path counts as lost (docs/engine.md "Losses and rejoin"): the PeerConnection
 * `failed` or `closed` at once, or `disconnected` for `graceMs` (werift may come back from a blip). A
 * manager: states in through `handle`, the loss out through the injected `lost`.
 */
export class MediaWatch {
  private timer: unknown

  constructor(private readonly deps: { clock: Clock; logger: EngineLogger; graceMs: number; lost(): void }) {}

  /** `active`: the call still cares (not closed). */
  handle(state: PeerState, active: boolean): void {
    this.deps.logger.debug({ state }, 'media connection state')
    if (state === 'connected' || !active) return this.clear()
    if (state === 'failed' || state === 'closed') return this.deps.lost()
    if (state === 'disconnected') {
      this.clear()
      this.timer = this.deps.clock.setTimeout(() => this.deps.lost(), this.deps.graceMs)
    }
  }

  clear(): void {
    this.deps.clock.clearTimeout(this.timer)
    this.timer = undefined
  }
}
