/**
 * A typed event emitter over one event map (`{ name: [args] }`). A listener that throws cannot break the
 * emitter or the listeners after it: the error goes to `onListenerError` (mediasoup's enhancedEvents
 * `safeEmit` does the same), and `emit` carries on.
 */

/** `{ name: [args] }`; an interface works too (no index signature needed). */
export type EventMap<Events> = { [K in keyof Events]: unknown[] }

export type Listener<Args extends unknown[]> = (...args: Args) => void

export type ListenerErrorHandler = (event: string, error: unknown) => void

export class TypedEmitter<Events extends EventMap<Events>> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>()

  constructor(private readonly onListenerError: ListenerErrorHandler = defaultListenerErrorHandler) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(listener as Listener<never>)
    return this
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (...args) => {
      this.off(event, wrapper)
      listener(...args)
    }
    return this.on(event, wrapper)
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    this.listeners.get(event)?.delete(listener as Listener<never>)
    return this
  }

  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.listeners.clear()
    else this.listeners.delete(event)
    return this
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0
  }

  /** Calls every listener in order of registration; returns whether there was any. */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const set = this.listeners.get(event)
    if (!set || set.size === 0) return false
    // A copy: listeners added or removed during emit take effect from the next emit.
    for (const listener of [...set]) {
      try {
        ;(listener as Listener<Events[K]>)(...args)
      } catch (error) {
        this.reportListenerError(String(event), error)
      }
    }
    return true
  }

  private reportListenerError(event: string, error: unknown): void {
    try {
      this.onListenerError(event, error)
    } catch (handlerError) {
      // The error handler itself failed: nothing left to report to but the console.
      console.error(`listener error handler failed for '${event}'`, handlerError, error)
    }
  }
}

function defaultListenerErrorHandler(event: string, error: unknown): void {
  console.error(`a listener of '${event}' threw`, error)
}
