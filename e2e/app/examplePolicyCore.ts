/**
 * Run by badRegions.test.ts inside a fresh network namespace (only a loopback that is down: nothing leaves
 * it, DNS fails at once): an app core under the shipped example policy (resources/policy.example.json, a
 * documentation address and a name that does not resolve) runs a network check and a join attempt, as the
 * browser host or Electron would. Prints one JSON line: the check's statuses, the join's code, and every
 * uncaught exception or unhandled rejection that happened in between. The region probes a page asks for
 * first come before the check.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createAppCore } from '../../src/app/core/appCore'
import { loadPolicy } from '../../src/app/settings/policy'
import type { RegionProbeResult } from '../../src/shared/engine'
import type { IpcReply } from '../../src/shared/ipc'
import type { NetworkCheckReport } from '../../src/shared/networkCheck'

const uncaught: string[] = []
process.on('uncaughtException', (error) => uncaught.push(`uncaughtException: ${error.stack ?? error}`))
process.on('unhandledRejection', (reason) => uncaught.push(`unhandledRejection: ${String(reason)}`))

function value<T>(reply: IpcReply<T>): T {
  if (!reply.ok) throw new Error(`${reply.error.code} ${reply.error.message} ${reply.error.detail ?? ''}`)
  return reply.value
}

const FAST = { udpTimeoutMs: 400, udpRetransmitMs: 50, tlsTimeoutMs: 400, sessionTimeoutMs: 400 }
const dataDir = mkdtempSync(join(tmpdir(), 'pinhole-example-policy-'))
const policy = loadPolicy({ path: resolve(import.meta.dirname, '../../resources/policy.example.json') })
const core = await createAppCore({
  dataDir,
  policy,
  networkCheck: { probe: FAST },
  engine: { probe: FAST, joinTimeoutMs: 5000 },
})
try {
  // What a page does first (region list with round trips), then the check, then a join.
  const probes = value(await core.invoke('probeRegions', [])) as RegionProbeResult[]
  const report = value(await core.invoke('runNetworkCheck', [])) as NetworkCheckReport
  const joinCode = value(await core.invoke('joinChannel', ['not-a-real-token', 'board', 42]))
  // Let whatever the attempt left behind (timers, sockets) run out before counting.
  await new Promise((done) => setTimeout(done, 300))
  const statuses = Object.fromEntries(
    report.regions.map((region) => [region.id, region.rows.map((row) => row.status)]),
  )
  const reachable = probes.map((probe) => [probe.regionId, probe.reachable])
  const line = { policy: policy.status, reachable, statuses, summary: report.summary, joinCode, uncaught }
  process.stdout.write(`${JSON.stringify(line)}\n`)
} finally {
  await core.close()
  rmSync(dataDir, { recursive: true, force: true })
}
