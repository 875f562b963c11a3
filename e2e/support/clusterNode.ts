/**
 * A stand-in conference node for the cluster tests: a real process that registers in Redis through
 * NodeRegistry with a fixed load and heart-beats until it is killed, so a test can SIGKILL a node and watch
 * its keys expire without starting werift. Run as a script (`node --import tsx clusterNode.ts '<json>'`) by
 * startClusterNode below; the full server is e2e/cluster's business.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { NodeRegistry, type NodeRegistryOptions, type NodeSample } from '../../src/cluster'
import { createLogger } from '../../src/platform/logger'
import type { ChannelRef } from '../../src/shared/cluster'
import { killOnExit, stopChild } from './process'

export interface ClusterNodeOptions {
  redis: string
  id: string
  region: string
  heartbeatMs: number
  ttlMs: number
  participants?: number
  channels?: ChannelRef[]
  maxParticipants?: number
}

export interface ClusterNodeProcess {
  child: ChildProcess
  /** SIGKILL: no deregistration, the keys expire after ttlMs. */
  kill(): Promise<void>
  stop(): Promise<void>
}

/** Spawns the stand-in node and resolves once its first heartbeat is in Redis. */
export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNodeProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(options)],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  killOnExit(child)
  let output = ''
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output += `${line}\n`
      if (line === 'registered') resolve()
    })
    child.once('exit', (code) =>
      reject(new Error(`cluster node ${options.id} exited with ${code}: ${output}`)),
    )
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
    stop: () => stopChild(child, 1000),
  }
}

async function main(options: ClusterNodeOptions): Promise<void> {
  const channels = options.channels ?? []
  const registry = await NodeRegistry.start({
    ...options,
    signalUrl: `ws://127.0.0.1:1/${options.id}/v1/signal`,
    mediaAddress: '127.0.0.1',
    sample: () => ({ participants: options.participants ?? 0, channels, forwardedPackets: 0 }),
    logger: createLogger('silent'),
  })
  process.stdout.write('registered\n')
  process.once('SIGTERM', () => void registry.close().then(() => process.exit(0)))
  // Keep the process alive: the registry's timer is unref'd.
  setInterval(() => undefined, 60_000)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(JSON.parse(process.argv[2] ?? '{}') as ClusterNodeOptions).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  })
}

/**
 * What the cluster's unit tests register a node with: region `east`, a signal URL named after the node,
 * a 100 ms heartbeat and a 1 s TTL (short, so expiry is seen within a test), `extra` on top.
 */
export function testNodeOptions(
  redis: string,
  id: string,
  sample: () => NodeSample,
  logger: NodeRegistryOptions['logger'],
  extra: Partial<NodeRegistryOptions> = {},
  host = '127.0.0.1',
): NodeRegistryOptions {
  return {
    redis,
    id,
    region: 'east',
    signalUrl: `ws://${host}:7000/${id}`,
    mediaAddress: host,
    heartbeatMs: 100,
    ttlMs: 1000,
    sample,
    logger,
    ...extra,
  }
}
