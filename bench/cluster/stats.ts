/**
 * Pure figures of bench:cluster (bench/cluster.ts), kept apart so a unit test pins them
 * (e2e/support/clusterBenchStats.test.ts).
 */
export { seededRandom } from '../../e2e/support/seededRandom'

/** The nearest-rank percentile (0 < p ≤ 100) of `values`; undefined when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/** How evenly `counts` (one per node) are spread: the largest deviation from their mean, as a fraction. */
export function spread(counts: readonly number[]): {
  min: number
  max: number
  mean: number
  deviation: number
} {
  if (counts.length === 0) return { min: 0, max: 0, mean: 0, deviation: 0 }
  const min = Math.min(...counts)
  const max = Math.max(...counts)
  const mean = counts.reduce((sum, n) => sum + n, 0) / counts.length
  const deviation = mean === 0 ? 0 : Math.max(max - mean, mean - min) / mean
  return { min, max, mean, deviation }
}

/** One step of a ramp: how many participants it carried and the loss they saw. */
export interface RampStep {
  participants: number
  /** Packets missing among those the participants sent in the window. */
  loss: number
  /** What the participants sent ÷ what they should have (their timers run late on a saturated machine). */
  offered: number
}

/**
 * The participants a configuration sustains: the largest step below `maxLoss` whose senders sent at least
 * `minOffered` of their nominal rate (a starved load generator loses nothing because it sends little),
 * with no failing step before it (a ramp past its knee that measures a clean window once more does not
 * count); 0 if none.
 */
export function sustained(steps: readonly RampStep[], maxLoss: number, minOffered: number): number {
  let best = 0
  for (const step of steps) {
    if (step.loss >= maxLoss || step.offered < minOffered) break
    best = Math.max(best, step.participants)
  }
  return best
}

/**
 * Whether a ramp ended on its node: its last step (the failing one, or the last if none failed) had the
 * busiest node at `saturated` % of a core or more. A ramp that ended with its nodes well below that ended
 * on something else (the load generators or other work starved of CPU), and its sustained participants
 * say nothing about the node.
 */
export function endedOnNode(steps: readonly { busiestNodeCpu: number }[], saturated: number): boolean {
  const last = steps.at(-1)
  return last !== undefined && last.busiestNodeCpu >= saturated
}

/** Fisher–Yates with `random`, in place. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/** One sample of a node's CPU (% of one core) at a number of participants. */
export interface CpuSample {
  participants: number
  cpu: number
}

/**
 * The participants at which a node would reach `ceiling` % of a core, from the least-squares line through
 * its samples (the marginal CPU per participant, with the node's fixed cost as the intercept); undefined
 * with fewer than two distinct participant counts or a line that does not rise.
 */
export function projectToCeiling(samples: readonly CpuSample[], ceiling = 100): number | undefined {
  const n = samples.length
  if (new Set(samples.map((s) => s.participants)).size < 2) return undefined
  const meanX = samples.reduce((sum, s) => sum + s.participants, 0) / n
  const meanY = samples.reduce((sum, s) => sum + s.cpu, 0) / n
  let covariance = 0
  let variance = 0
  for (const s of samples) {
    covariance += (s.participants - meanX) * (s.cpu - meanY)
    variance += (s.participants - meanX) ** 2
  }
  const slope = covariance / variance
  if (!(slope > 0)) return undefined
  return meanX + (ceiling - meanY) / slope
}
