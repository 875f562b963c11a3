/** A counter sample stamped with our own clock (performance.now()). */
export interface CounterSample {
  atMs: number
  /** Monotonic counter, e.g. echoes received. */
  count: number
  /** Optional monotonic CPU time of the server under test, µs. */
  cpuMicros?: number
  /** Optional whole-machine CPU ticks (busy and total, all cores), from /proc/stat. */
  machine?: { busyTicks: number; totalTicks: number }
}

export interface WindowRate {
  /** Counter increase per second over the best window. */
  perSecond: number
  /** Server CPU over the same window, percent of one core (undefined without cpu samples). */
  cpuPercent: number | undefined
  /** Whole machine busy over the same window, percent of all cores (100 = every core saturated). */
  machineBusyPercent: number | undefined
  fromMs: number
  toMs: number
}

/**
 * The highest rate sustained over any window of at least `minWindowMs` between two samples. uclient starts
 * each client 1–6 s after connecting (uniformly at random), so only the middle of a run carries the full
 * offered load; a whole-run average (or uclient's "Total transmit time") understates it.
 */
export function sustainedRate(samples: readonly CounterSample[], minWindowMs = 2000): WindowRate | undefined {
  let best: WindowRate | undefined
  for (let i = 0; i < samples.length; i++) {
    const from = samples[i]
    if (from === undefined) continue
    for (let j = i + 1; j < samples.length; j++) {
      const to = samples[j]
      if (to === undefined) continue
      const spanMs = to.atMs - from.atMs
      if (spanMs < minWindowMs) continue
      const perSecond = ((to.count - from.count) * 1000) / spanMs
      if (best === undefined || perSecond > best.perSecond) {
        const cpuPercent =
          from.cpuMicros !== undefined && to.cpuMicros !== undefined
            ? ((to.cpuMicros - from.cpuMicros) / (spanMs * 1000)) * 100
            : undefined
        const machineBusyPercent =
          from.machine !== undefined &&
          to.machine !== undefined &&
          to.machine.totalTicks > from.machine.totalTicks
            ? ((to.machine.busyTicks - from.machine.busyTicks) /
                (to.machine.totalTicks - from.machine.totalTicks)) *
              100
            : undefined
        best = { perSecond, cpuPercent, machineBusyPercent, fromMs: from.atMs, toMs: to.atMs }
      }
      break // the shortest qualifying window from i; longer ones only average in the ramps
    }
  }
  return best
}
