/** A clock whose time moves only when the test says so (the platform Clock, which engine and SFU take). */
import type { Clock } from '../../src/platform/clock'

interface Timer {
  id: number
  at: number
  callback: () => void
}

export class FakeClock implements Clock {
  private time = 0
  private nextId = 1
  private timers: Timer[] = []

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), callback }
    this.timers.push(timer)
    return timer.id
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle)
  }

  /** Moves time forward timer by timer, letting promise callbacks run after each one. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    await settle()
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.timers = this.timers.filter((t) => t !== due)
      this.time = due.at
      due.callback()
      await settle()
    }
    this.time = end
    await settle()
  }

  /** Resolves after `ms` of fake time. */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms))
  }
}

/** Lets queued promise callbacks (several hops deep) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}
