import type { EngineEvents } from '../../shared/engine'

/**
 * A call's events while it joins (docs/engine.md "The seam"): held until the engine has reported the join
 * (Connected, `joinChannel`), so that apps see those first; bounded, so a join that never completes cannot
 * grow it without limit (past `max`, everything held goes out). A manager: events in through `emit`, out
 * through the injected `send`.
 */

type Send = <K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]) => void

export const MAX_HELD_EVENTS = 1000

export class HeldEvents {
  private held: (() => void)[] | undefined = []

  constructor(
    private readonly send: Send,
    private readonly max = MAX_HELD_EVENTS,
  ) {}

  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void {
    if (!this.held) return this.send(event, ...args)
    this.held.push(() => this.send(event, ...args))
    if (this.held.length > this.max) this.release()
  }

  /** Sends what was held, in order; from now on events go out at once. */
  release(): void {
    const held = this.held ?? []
    this.held = undefined
    for (const send of held) send()
  }
}
