import { Redis } from 'ioredis'
import type { Logger } from '../platform/logger'
import { HEARTBEAT_SCRIPT, PLACE_SCRIPT, RELEASE_SCRIPT } from './scripts'

/** How long a connect or a command may take before it counts as "Redis unreachable". */
export const REDIS_TIMEOUT_MS = 1000

/** The client with the cluster's scripts as commands (ioredis `defineCommand`: EVALSHA, EVAL on NOSCRIPT). */
export type ClusterRedis = Redis & {
  pinholePlace(...args: (string | number)[]): Promise<[string, string] | null>
  pinholeHeartbeat(...args: (string | number)[]): Promise<string[]>
  pinholeRelease(...args: (string | number)[]): Promise<number>
}

/** `redis://host:port` without the password, for messages and logs. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`
  } catch {
    return '(unparsable URL)'
  }
}

/**
 * A client that fails fast instead of hanging: while Redis is down a command rejects at once (no offline
 * queue, no per-request retries) or after REDIS_TIMEOUT_MS (a Redis that accepts but does not answer), and
 * the client keeps reconnecting in the background, so the first command after Redis is back works. Callers
 * turn the rejection into their own answer (a 503 `cluster_unavailable`, a skipped heartbeat).
 */
export function createClusterRedis(url: string, logger: Logger): ClusterRedis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: REDIS_TIMEOUT_MS,
    commandTimeout: REDIS_TIMEOUT_MS,
    // Never give up: a Redis restart must not need a node restart. Capped at 1 s so a node is back quickly.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  })
  client.defineCommand('pinholePlace', { numberOfKeys: 0, lua: PLACE_SCRIPT })
  client.defineCommand('pinholeHeartbeat', { numberOfKeys: 0, lua: HEARTBEAT_SCRIPT })
  client.defineCommand('pinholeRelease', { numberOfKeys: 0, lua: RELEASE_SCRIPT })
  // Without a listener ioredis prints every failed reconnect; the callers log outages once.
  let lastError = ''
  client.on('error', (err: Error) => {
    if (err.message === lastError) return
    lastError = err.message
    logger.debug({ err: err.message, redis: redisAddress(url) }, 'redis connection error')
  })
  client.on('ready', () => (lastError = ''))
  return client as ClusterRedis
}

/**
 * Resolves once the client is connected, or after `timeoutMs` (the command then fails fast on its own):
 * without it a command sent in the first milliseconds, or while a restarted Redis is being reconnected to,
 * would fail although Redis answers a moment later.
 */
export function whenReady(client: Redis, timeoutMs = REDIS_TIMEOUT_MS): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  // One wait per client however many callers queue behind it (a burst of joins while Redis reconnects).
  let waiting = readyWaits.get(client)
  if (waiting === undefined) {
    waiting = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        client.off('ready', done)
        readyWaits.delete(client)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      client.once('ready', done)
    })
    readyWaits.set(client, waiting)
  }
  return waiting
}
const readyWaits = new WeakMap<Redis, Promise<void>>()

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Thrown when Redis cannot be reached at start; names the config key so the operator knows what to fix. */
export class ClusterConnectError extends Error {
  constructor(url: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause)
    super(`cluster.redis: cannot reach Redis at ${redisAddress(url)} (${why})`, { cause })
    this.name = 'ClusterConnectError'
  }
}

/** Connects once, rejecting with ClusterConnectError (and closing the client) when Redis does not answer. */
export async function connectClusterRedis(url: string, logger: Logger): Promise<ClusterRedis> {
  const client = createClusterRedis(url, logger)
  try {
    await client.connect()
    await client.ping()
  } catch (err) {
    client.disconnect()
    throw new ClusterConnectError(url, err)
  }
  return client
}
