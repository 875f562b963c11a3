import type { ProxyMetricsSnapshot } from '../metrics'
import type { CertMaterial } from '../edge443/tlsCert'
import type { ProxyServerConfig } from '../config'

/** Messages of the worker pool (workers.ts ↔ worker.ts), over the fork IPC channel. */
export type ToWorker =
  | { type: 'start'; id: number; config: ProxyServerConfig; cert: CertMaterial; logLevel: string }
  | { type: 'drain'; budgetMs: number }

export type FromWorker =
  | { type: 'ready'; udp: number[]; tcp: number }
  | { type: 'failed'; message: string }
  | {
      type: 'report'
      snapshot: ProxyMetricsSnapshot
      health: { ok: boolean; details: Record<string, unknown> }
    }

/** How often a worker reports its counters and health to the primary. */
export const REPORT_INTERVAL_MS = 1000
