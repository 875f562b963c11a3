/**
 * Prometheus text expositions merged into one (the parent of `sfu.workers` serves its workers' series
 * under `node="<id>"`). A valid exposition has each metric family once, its HELP and TYPE first and all its
 * samples together, so several processes' texts cannot simply be concatenated: process_cpu_seconds_total
 * of two workers would be two families of the same name, which Prometheus refuses.
 */

/** One metric family: its `# HELP`/`# TYPE` lines and its sample lines, as written. */
export interface MetricFamily {
  name: string
  meta: string[]
  samples: string[]
}

const SAMPLE_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/

/** The families of one exposition in their order; samples belong to the family last announced above them. */
export function parseExposition(text: string): MetricFamily[] {
  const families: MetricFamily[] = []
  let current: MetricFamily | undefined
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line)
    if (meta) {
      if (current === undefined || current.name !== meta[2]) {
        current = { name: meta[2]!, meta: [], samples: [] }
        families.push(current)
      }
      current.meta.push(line)
      continue
    }
    if (line.startsWith('#')) continue
    if (current === undefined) {
      const name = SAMPLE_NAME.exec(line)?.[0] ?? line
      families.push((current = { name, meta: [], samples: [] }))
    }
    current.samples.push(line)
  }
  return families
}

/** `labels` added to every sample (first in its label set). */
export function withLabels(families: MetricFamily[], labels: Record<string, string>): MetricFamily[] {
  const text = Object.entries(labels)
    .map(([key, value]) => `${key}="${escapeLabelValue(value)}"`)
    .join(',')
  if (text === '') return families
  return families.map((f) => ({ ...f, samples: f.samples.map((s) => labelSample(s, text)) }))
}

function labelSample(sample: string, labels: string): string {
  const name = SAMPLE_NAME.exec(sample)?.[0]
  if (name === undefined) return sample
  const rest = sample.slice(name.length)
  if (!rest.startsWith('{')) return `${name}{${labels}}${rest}`
  return `${name}{${labels}${rest[1] === '}' ? '' : ','}${rest.slice(1)}`
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

/** One exposition of every part's families: each family once (its first HELP/TYPE), all samples under it. */
export function mergeExpositions(parts: MetricFamily[][]): string {
  const merged = new Map<string, MetricFamily>()
  for (const family of parts.flat()) {
    const seen = merged.get(family.name)
    if (seen === undefined) merged.set(family.name, { ...family, samples: [...family.samples] })
    else {
      if (seen.meta.length === 0) seen.meta = family.meta
      seen.samples.push(...family.samples)
    }
  }
  const lines = [...merged.values()].flatMap((f) => [...f.meta, ...f.samples, ''])
  return lines.join('\n')
}
