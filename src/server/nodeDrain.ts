import type { Logger } from 'pino'

/**
 * SIGTERM on a conference node of a cluster (docs/scaling.md "Drain"): the node leaves placement at once
 * (draining in Redis: no new channels; its own joins refused too), its calls go on; after
 * `cluster.drainMoveAfterMs`, or earlier when the drain deadline is near, it gives up the channels it
 * still holds and moves their participants (`rejoin`), whose engines take a fresh session and are placed
 * on another node. Then it closes and deregisters. Without a cluster a node drains as it always has.
 */

/** The conference server as the drain drives it (ConferenceServer). */
export interface DrainingServer {
  drain(options: { timeoutMs: number; openChannels: boolean }): Promise<void>
  moveAll(message?: string): number
  close(): Promise<void>
}

/** The node's entry in the cluster (NodeRegistry). */
export interface DrainingNode {
  setDraining(): Promise<void>
  releaseAll(): Promise<number>
  close(): Promise<void>
}

export interface NodeDrainOptions {
  /** `cluster.drainMoveAfterMs`: how long calls may go on here before they are moved. */
  moveAfterMs: number
  /** `sfu.drainTimeoutMs`: the whole drain's deadline. */
  drainTimeoutMs: number
  logger: Logger
  now?: () => number
}

/** Engines need a few seconds to take a session and join elsewhere: the move starts this long before the deadline. */
export const MOVE_BEFORE_DEADLINE_MS = 10_000

/** When the move starts, counted from the start of the drain. */
export function moveAt(moveAfterMs: number, drainTimeoutMs: number): number {
  return Math.max(0, Math.min(moveAfterMs, drainTimeoutMs - MOVE_BEFORE_DEADLINE_MS))
}

export async function drainClusterNode(
  server: DrainingServer,
  node: DrainingNode,
  options: NodeDrainOptions,
): Promise<void> {
  const { logger } = options
  try {
    await node.setDraining()
  } catch (err) {
    // The node still refuses joins itself; placement learns it when the key expires.
    logger.warn({ err }, 'cluster: could not mark the node draining')
  }
  const waitMs = moveAt(options.moveAfterMs, options.drainTimeoutMs)
  logger.info({ moveInMs: waitMs }, 'draining: new channels go to other nodes; calls here are moved later')
  // Its calls stay whole: a late joiner of a channel held here joins it here (placement keeps sending it).
  await server.drain({ timeoutMs: waitMs, openChannels: true })
  try {
    const released = await node.releaseAll()
    const moved = server.moveAll()
    if (moved > 0) logger.info({ moved, released }, 'draining: participants moved to other nodes')
  } catch (err) {
    // Redis down: the channel keys expire with the node's TTL, then the rejoins find another node.
    logger.warn({ err }, 'cluster: could not release the channels; moving the participants anyway')
    server.moveAll()
  }
  await server.close()
  await node.close()
}
