/**
 * bench:cluster's node loss: SIGKILL the process of one simulated node and time until every channel it held
 * is placed again on a live node, the engines of its calls coming back as the real engine does. Their
 * signaling drops with the node (the proxy's relay closes it), so each goes Reconnecting at once and runs
 * the engine's own reconnect loop (`backoffPolicy()` of src/engine: 0, 250, 500, 1000, 2000, 2000… ms); an
 * attempt is a fresh session, i.e. one placement call through the engine's proxy. An attempt placed on the
 * dead node fails (the relay cannot dial it) and the loop goes on.
 *
 * Two ways a proxy learns of the loss, one per lost node:
 * - `reported: false` — only from Redis: the dead node's key expires after the TTL. Nothing marks it
 *   unreachable, the bound the issue's `replace_ms ≤ ttl_ms + 5 s` is about (a dial that hangs instead of
 *   failing, or proxies that never relayed to the node).
 * - `reported: true` — as the relay does when a node dies under it: its connection drops (close 1006) or the
 *   dial fails, and the proxy calls `placement.unreachable(node)`, so the next placement skips it at once.
 */
import type { ClusterReader } from '../../src/cluster'
import { backoffPolicy } from '../../src/engine/call/reconnectPolicy'
import { sleep } from '../../e2e/support/tools'
import type { NodeHost } from './nodeHost'
import type { Participant } from './placementSim'

export interface NodeLoss {
  victim: string
  reported: boolean
  channels: number
  participants: number
  /** Kill → the last of its channels placed on a live node (its first participant back). */
  replaceMs: number
  /** Kill → the last participant placed on a live node. */
  allBackMs: number
  /** Attempts placed on the dead node (each a failed reconnect attempt). */
  deadAnswers: number
  /** Channels whose participants came back on more than one node, or on the dead one (must be 0). */
  split: number
  /** Whether `cluster status` still lists the dead node once its TTL has run out (must be false). */
  listedAfterTtl: boolean
}

export interface LoseNodeOptions {
  participants: readonly Participant[]
  victim: string
  host: NodeHost
  hostOf: ReadonlyMap<string, NodeHost>
  reported: boolean
  reader: ClusterReader
  ttlMs: number
}

export async function loseNode(options: LoseNodeOptions): Promise<NodeLoss> {
  const { victim, reported } = options
  const movers = options.participants.filter((p) => p.nodeId === victim)
  const channels = new Set(movers.map((p) => p.channel.name))
  await options.host.kill()
  const killedAt = performance.now()
  if (reported) for (const proxy of new Set(movers.map((p) => p.proxy))) proxy.unreachable?.(victim)
  /** Channel → when its first participant was placed on a live node (ms after the kill). */
  const backAt = new Map<string, number>()
  let deadAnswers = 0
  let allBackMs = 0

  const reconnect = async (p: Participant): Promise<void> => {
    const policy = backoffPolicy()
    for (let attempt = 0; ; attempt++) {
      const delay = policy.nextDelayMs(attempt, performance.now() - killedAt)
      if (delay === undefined) throw new Error(`${p.channel.name} uid ${p.uid}: reconnect budget spent`)
      await sleep(delay)
      let nodeId: string
      try {
        nodeId = (await p.proxy.place(p.channel)).nodeId
      } catch {
        continue // 503: the session refused, the attempt fails
      }
      if (nodeId === victim) {
        deadAnswers++
        if (reported) p.proxy.unreachable?.(victim)
        continue
      }
      const at = performance.now() - killedAt
      p.nodeId = nodeId
      options.hostOf.get(nodeId)?.join(nodeId, p.channel, p.uid)
      if (!backAt.has(p.channel.name)) backAt.set(p.channel.name, at)
      allBackMs = Math.max(allBackMs, at)
      return
    }
  }
  await Promise.all(movers.map(reconnect))

  const nodesOf = new Map<string, Set<string>>()
  for (const p of movers)
    nodesOf.set(p.channel.name, (nodesOf.get(p.channel.name) ?? new Set()).add(p.nodeId!))
  const split = [...nodesOf.values()].filter((nodes) => nodes.size !== 1 || nodes.has(victim)).length
  // The dead node's keys are gone once its TTL has run out (counted from the kill: an upper bound).
  await sleep(Math.max(0, killedAt + options.ttlMs + 200 - performance.now()))
  const listedAfterTtl = (await options.reader.node(victim)) !== undefined
  return {
    victim,
    reported,
    channels: channels.size,
    participants: movers.length,
    replaceMs: Math.max(0, ...backAt.values()),
    allBackMs,
    deadAnswers,
    split,
    listedAfterTtl,
  }
}
