/**
 * Simulated conference nodes for bench:cluster's placement part: one process hosting any number of real
 * `NodeRegistry` instances (src/cluster: the heartbeat, TTL and claim scripts every node runs), each
 * reporting the participants the bench joined to it, and no media. A host process is SIGKILLed to lose its
 * nodes the way a crashed machine does: no deregistration, the heartbeats simply stop.
 *
 * Run by `startNodeHost` (fork with tsx); the parent sends `join` messages as simulated engines reach a node.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { NodeRegistry } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import type { ChannelRef } from '../../src/shared/cluster'

export interface NodeSpec {
  id: string
  region: string
}

export interface NodeHostOptions {
  redis: string
  nodes: NodeSpec[]
  heartbeatMs: number
  ttlMs: number
}

type HostRequest = { type: 'join'; nodeId: string; channel: ChannelRef; uid: number } | { type: 'close' }
type HostReply = { type: 'ready' } | { type: 'closed' }

export interface NodeHost {
  child: ChildProcess
  join(nodeId: string, channel: ChannelRef, uid: number): void
  /** SIGKILL: the nodes' keys stay until their TTL runs out. Resolves once the process is gone. */
  kill(): Promise<void>
  /** Deregisters every node, then the process exits. */
  close(): Promise<void>
}

/** Forks a host and resolves once each of its nodes has registered (its first heartbeat is in Redis). */
export async function startNodeHost(options: NodeHostOptions): Promise<NodeHost> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    child.once('message', (reply: HostReply) => (reply.type === 'ready' ? resolve() : undefined))
    child.once('exit', (code) =>
      reject(new Error(`node host exited with ${code} before its nodes registered`)),
    )
  })
  const send = (request: HostRequest): void => {
    if (child.connected) child.send(request)
  }
  return {
    child,
    join: (nodeId, channel, uid) => send({ type: 'join', nodeId, channel, uid }),
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
    async close() {
      send({ type: 'close' })
      await exited
    },
  }
}

async function main(options: NodeHostOptions): Promise<void> {
  const logger = createLogger('silent')
  /** Node id → channel (`appKey/name`) → the channel and the uids joined there. */
  const joined = new Map<string, Map<string, { ref: ChannelRef; uids: Set<number> }>>()
  const registries = await Promise.all(
    options.nodes.map(({ id, region }) => {
      const channels = new Map<string, { ref: ChannelRef; uids: Set<number> }>()
      joined.set(id, channels)
      return NodeRegistry.start({
        redis: options.redis,
        id,
        region,
        signalUrl: `ws://127.0.0.1:1/${id}/v1/signal`,
        mediaAddress: '127.0.0.1',
        heartbeatMs: options.heartbeatMs,
        ttlMs: options.ttlMs,
        sample: () => {
          let participants = 0
          for (const { uids } of channels.values()) participants += uids.size
          const refs = [...channels.values()].map(({ ref }) => ref)
          return { participants, channels: refs, forwardedPackets: 0 }
        },
        logger,
      })
    }),
  )
  process.on('message', (request: HostRequest) => {
    if (request.type === 'join') {
      const channels = joined.get(request.nodeId)
      if (channels === undefined) return
      const key = `${request.channel.appKey}/${request.channel.name}`
      const entry = channels.get(key) ?? { ref: request.channel, uids: new Set<number>() }
      entry.uids.add(request.uid)
      channels.set(key, entry)
    } else {
      void Promise.all(registries.map((r) => r.close())).then(() => process.exit(0))
    }
  })
  // A host never outlives the bench.
  process.on('disconnect', () => process.exit(0))
  process.send?.({ type: 'ready' } satisfies HostReply)
  setInterval(() => undefined, 60_000)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(JSON.parse(process.argv[2] ?? '{}') as NodeHostOptions).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}
