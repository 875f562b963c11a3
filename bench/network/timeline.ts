/**
 * Where in a bench:network window each side froze: `npx tsx bench/network/timeline.ts <file>` on what
 * `BENCH_DUMP=<file> npm run bench:network` wrote. For each profile, side and direction, every freeze
 * (the same rule as the figures: bench/network/metrics.ts `freezeGaps`) with its start in seconds into the
 * window and, in `step`, the link's phase then (high before the drop, low, high again), and the frames
 * rendered per second over each 2 s. Prints only; the figures are the bench's own.
 */
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { freezeGaps, type SideRecord, type StepTimes } from './metrics'

export type Phase = 'high' | 'low' | 'high again'

/** The link's phase at `atMs` in `step`; undefined in other profiles. */
export function stepPhase(atMs: number, step: StepTimes | undefined): Phase | undefined {
  if (step === undefined) return undefined
  if (atMs < step.downAtMs) return 'high'
  return atMs < step.upAtMs ? 'low' : 'high again'
}

export interface DirectionTimeline {
  freezes: { atS: number; gapMs: number; phase?: Phase }[]
  /** Frames rendered per second over each 2 s of the window. */
  fps: number[]
}

const BUCKET_MS = 2000

export function directionTimelines(record: SideRecord, step?: StepTimes): DirectionTimeline[] {
  const { fromMs, toMs } = record
  return record.directions.map(({ received }) => {
    const freezes = freezeGaps(received, fromMs, toMs).map(({ atMs, gapMs }) => {
      const phase = stepPhase(atMs, step)
      return {
        atS: Math.round((atMs - fromMs) / 100) / 10,
        gapMs: Math.round(gapMs),
        ...(phase ? { phase } : {}),
      }
    })
    const fps = new Array<number>(Math.ceil((toMs - fromMs) / BUCKET_MS)).fill(0)
    for (const [, at] of received) {
      const bucket = Math.floor((at - fromMs) / BUCKET_MS)
      if (at > fromMs && at < toMs && bucket < fps.length) fps[bucket]! += 1000 / BUCKET_MS
    }
    return { freezes, fps }
  })
}

type Dump = Record<
  string,
  { ours?: { record: SideRecord; step?: StepTimes }; native?: { record: SideRecord; step?: StepTimes } }
>

function print(dump: Dump): void {
  for (const [profile, run] of Object.entries(dump)) {
    for (const side of ['ours', 'native'] as const) {
      const result = run[side]
      if (!result) continue
      const step = result.step
      const rel = (ms: number): string => ((ms - result.record.fromMs) / 1000).toFixed(1)
      const edges = step ? `, drop at ${rel(step.downAtMs)} s, back at ${rel(step.upAtMs)} s` : ''
      console.log(`${profile} ${side}${edges}`)
      directionTimelines(result.record, step).forEach((d, i) => {
        const list = d.freezes.map((f) => `${f.atS} s +${f.gapMs} ms${f.phase ? ` (${f.phase})` : ''}`)
        console.log(`  direction ${i}: ${d.freezes.length} freezes: ${list.join(', ')}`)
        console.log(`  direction ${i}: fps per 2 s: ${d.fps.map((f) => Math.round(f)).join(' ')}`)
      })
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2]
  if (!file) {
    console.error('usage: npx tsx bench/network/timeline.ts <BENCH_DUMP file>')
    process.exit(1)
  }
  print(JSON.parse(readFileSync(file, 'utf8')) as Dump)
}
