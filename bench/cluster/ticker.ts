/**
 * bench:cluster's load generator's one timer: every participant's packets, socket reads and reports from it.
 * A timer per participant and kind woke the process 65 times a second per participant, and on a loaded
 * machine each wake-up (the context switch, the timer list) cost more than the packet it sent. Each job
 * keeps its own period and a random phase, so the work of different participants is still spread over the
 * period, in batches of at most one tick.
 */
export const TICK_MS = 5

export interface Job {
  next: number
  readonly periodMs: number
  readonly run: () => void
  stopped: boolean
}

const jobs = new Set<Job>()
let ticker: NodeJS.Timeout | undefined

export function every(periodMs: number, run: () => void): Job {
  const job: Job = { next: performance.now() + Math.random() * periodMs, periodMs, run, stopped: false }
  jobs.add(job)
  ticker ??= setInterval(tick, TICK_MS).unref() // the sockets and the IPC channel keep a generator alive
  return job
}

function tick(): void {
  const now = performance.now()
  for (const job of jobs) {
    if (job.stopped) {
      jobs.delete(job)
      continue
    }
    if (job.next > now) continue
    job.run()
    // As setInterval does, a late job does not catch up: a starved generator sends less (the bench's
    // "sent % of nominal" shows it) rather than in bursts.
    job.next += job.periodMs
    if (job.next <= now) job.next = now + job.periodMs
  }
  if (jobs.size === 0) {
    clearInterval(ticker)
    ticker = undefined
  }
}
