import { z } from 'zod'
import { expecting, intIn } from '../platform/configFields'

/**
 * The `cluster:` section of the server config (docs/scaling.md, docs/operations.md): conference nodes and
 * proxies of a region coordinated through Redis. Absent: one process, no Redis, exactly as before.
 */
export const CLUSTER_DEFAULTS = {
  heartbeatMs: 1000,
  ttlMs: 5000,
  drainMoveAfterMs: 15_000,
  /** When neither `cluster.region` nor `proxy.region` says. */
  region: 'default',
} as const
const D = CLUSTER_DEFAULTS

const REDIS_URL = 'expected a redis:// or rediss:// URL, e.g. redis://10.0.2.9:6379'
const redisUrl = z.string(expecting(REDIS_URL)).refine((s) => {
  try {
    const url = new URL(s)
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== ''
  } catch {
    return false
  }
}, REDIS_URL)

const NODE_ID = 'expected 1-64 letters, digits, dots, dashes or underscores'
const nodeId = z.string(expecting(NODE_ID)).regex(/^[A-Za-z0-9._-]{1,64}$/, NODE_ID)

export const clusterSectionSchema = z
  .strictObject({
    /** The Redis every node and proxy of the region shares. */
    redis: redisUrl,
    /** Defaults to `proxy.region`, else 'default' (resolved by the server config). */
    region: z.string().min(1).max(64).optional(),
    /** This node's id in Redis; default: `<hostname>-<random>`, new at each start. */
    nodeId: nodeId.optional(),
    heartbeatMs: intIn(50, 60_000).default(D.heartbeatMs),
    /** A node silent this long is gone: its key expires and its channels are placed again. */
    ttlMs: intIn(100, 600_000).default(D.ttlMs),
    /** The node-wide ceilings: a node at either is full and gets no new channels. Default: none. */
    maxParticipants: intIn(1, 1_000_000).optional(),
    maxPacketsPerSecond: intIn(1, 100_000_000).optional(),
    /** SIGTERM: how long calls may go on on a draining node before they are moved to other nodes. */
    drainMoveAfterMs: intIn(0, 3_600_000).default(D.drainMoveAfterMs),
  })
  .superRefine((c, ctx) => {
    // One late heartbeat must not drop a live node (and its calls' channels) from placement.
    if (c.ttlMs < 2 * c.heartbeatMs) {
      const message = `expected at least twice cluster.heartbeatMs (${2 * c.heartbeatMs})`
      ctx.addIssue({ code: 'custom', path: ['ttlMs'], message })
    }
  })

export type ClusterSectionInput = z.input<typeof clusterSectionSchema>
/** The section with its region resolved. */
export type ClusterSection = z.output<typeof clusterSectionSchema> & { region: string }
