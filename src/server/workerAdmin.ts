/**
 * What the parent of `sfu.workers` reads of each worker through the worker's own admin listener (loopback,
 * an OS-chosen port the worker reports in its `started` message), so that the parent's one admin listener
 * shows every node (docs/operations.md "Health and metrics"): its `/healthz` lists each worker's state and
 * load, its `/metrics` carries each worker's series under `node="<node id>"` and
 * `pinhole_sfu_worker_up{node}`, 0 for a worker that is dead or did not answer, so none goes missing
 * silently. Read at each request, like a Prometheus federation: no cache to go stale.
 */
import { escapeLabelValue, parseExposition, withLabels, type MetricFamily } from './exposition'

/** A worker on a loaded machine may be slow; a scrape or a health check should not hang on it. */
const FETCH_TIMEOUT_MS = 2000

/** Where the parent finds a worker: loopback (the worker's admin host is forced to 127.0.0.1). */
export interface WorkerAddress {
  /** Its cluster node id, the `node` label of its series. */
  node: string
  admin: number
}

/** One worker as the parent's `/healthz` lists it. */
export type WorkerState = 'up' | 'draining' | 'unhealthy' | 'not answering' | 'down'

export interface WorkerLoad {
  state: WorkerState
  participants?: number
  channels?: number
}

interface SfuHealthBody {
  details?: { sfu?: { ok?: boolean; draining?: boolean; participants?: number; channels?: number } }
}

async function get(port: number, path: string): Promise<Response | undefined> {
  return fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).catch(
    () => undefined,
  )
}

/** A running worker's state and load, read from its `/healthz` (200 or 503, JSON either way). */
export async function workerLoad(worker: WorkerAddress): Promise<WorkerLoad> {
  const res = await get(worker.admin, '/healthz')
  const sfu = ((await res?.json().catch(() => undefined)) as SfuHealthBody | undefined)?.details?.sfu
  if (sfu === undefined) return { state: 'not answering' }
  const state: WorkerState = sfu.draining ? 'draining' : sfu.ok ? 'up' : 'unhealthy'
  return { state, participants: sfu.participants ?? 0, channels: sfu.channels ?? 0 }
}

/** A running worker's series labelled with its node, or undefined when it did not answer. */
export async function workerMetrics(worker: WorkerAddress): Promise<MetricFamily[] | undefined> {
  const res = await get(worker.admin, '/metrics')
  if (res?.status !== 200) return undefined
  const text = await res.text().catch(() => undefined)
  return text === undefined ? undefined : withLabels(parseExposition(text), { node: worker.node })
}

/** `pinhole_sfu_worker_up{node}`: 1 for each worker whose series were read, 0 for the others. */
export function workerUpFamily(rows: readonly { node: string; up: boolean }[]): MetricFamily {
  const name = 'pinhole_sfu_worker_up'
  return {
    name,
    meta: [
      `# HELP ${name} 1 when the sfu.workers worker answered this scrape (its series carry the same node label), 0 when it is dead or did not answer`,
      `# TYPE ${name} gauge`,
    ],
    samples: rows.map((r) => `${name}{node="${escapeLabelValue(r.node)}"} ${r.up ? 1 : 0}`),
  }
}
