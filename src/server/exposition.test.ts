import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { mergeExpositions, parseExposition, withLabels } from './exposition'

/** One process's registry as its admin listener would serve it. */
async function processText(participants: number): Promise<string> {
  const registry = new Registry()
  new Gauge({ name: 'pinhole_sfu_participants', help: 'participants', registers: [registry] }).set(
    participants,
  )
  const packets = new Counter({ name: 'pkts_total', help: 'p', labelNames: ['kind'], registers: [registry] })
  packets.inc({ kind: 'video' }, 3)
  new Histogram({ name: 'lat_seconds', help: 'l', buckets: [0.1], registers: [registry] }).observe(0.05)
  return registry.metrics()
}

describe('Prometheus expositions merged', () => {
  it('each family once with its HELP/TYPE and every part’s samples, each part under its own labels', async () => {
    const parts = [
      withLabels(parseExposition(await processText(1)), { node: 'a-1' }),
      withLabels(parseExposition(await processText(0)), { node: 'b"2\\' }),
    ]
    const text = mergeExpositions(parts)

    const types = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1])
    expect(types).toEqual(['pinhole_sfu_participants', 'pkts_total', 'lat_seconds'])
    expect(text).toContain(
      'pinhole_sfu_participants{node="a-1"} 1\npinhole_sfu_participants{node="b\\"2\\\\"} 0\n',
    )
    expect(text).toContain('pkts_total{node="a-1",kind="video"} 3')
    expect(text).toContain('lat_seconds_bucket{node="b\\"2\\\\",le="0.1"} 1')
    expect(text).toContain('lat_seconds_count{node="a-1"} 1')
    // Parsing the merged text again gives the same families: samples stay under their family.
    const again = parseExposition(text)
    expect(again.map((f) => [f.name, f.samples.length])).toEqual([
      ['pinhole_sfu_participants', 2],
      ['pkts_total', 2],
      ['lat_seconds', 8],
    ])
  })
})
