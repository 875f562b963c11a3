/**
 * Join → Connected over a few joins per mode, through a real proxy and conference server on loopback
 * (`npx tsx e2e/engine/joinFigures.ts [joins]`). A quick figure for docs/engine.md, not the issue's
 * bench:join (≥ 20 joins, first remote frame, p95).
 */
import { createSocket } from 'node:dgram'
import { createEngine } from '../../src/engine'
import { startCallStack } from '../support/callStack'
import { TransportType } from '../../src/shared/engine'

const joins = Number(process.argv[2] ?? 7)
const stack = await startCallStack()
// Direct mode: werift gets a STUN server that never answers, so nothing leaves the machine.
const stun = createSocket('udp4')
await new Promise<void>((resolve) => stun.bind(0, '127.0.0.1', resolve))
const direct = { signalUrl: stack.sfuUrl, iceServers: [{ urls: `stun:127.0.0.1:${stun.address().port}` }] }

const modes = [
  ['direct', TransportType.None],
  ['udp', TransportType.UDPProxy],
  ['tls', TransportType.TCPProxy],
] as const
const results: Record<string, number[]> = {}
for (const [name, mode] of modes) {
  results[name] = []
  for (let i = 0; i < joins; i++) {
    const engine = createEngine({ regions: [stack.region], direct })
    engine.setRegion(stack.region.id)
    engine.setCloudProxy(mode)
    const uid = 100 + i
    const started = performance.now()
    const code = await engine.joinChannel(await stack.token(`figures-${name}`, uid), `figures-${name}`, uid)
    const elapsed = performance.now() - started
    if (code !== 0) throw new Error(`${name} join ${i}: ${code}`)
    results[name].push(elapsed)
    await engine.release()
  }
}
const p50 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return Math.round(sorted[Math.floor((sorted.length - 1) / 2)]!)
}
for (const [name, values] of Object.entries(results)) {
  console.log(
    `${name}: p50 ${p50(values)} ms, min ${Math.round(Math.min(...values))}, max ${Math.round(Math.max(...values))} (${values.length} joins)`,
  )
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, p50(v)]))))
stun.close()
await stack.close()
process.exit(0)
