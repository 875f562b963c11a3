import type { Logger } from 'pino'
import { ClusterConnectError, ClusterReader, type ClusterStatus, type NodeStatus } from '../cluster'
import type { ServerConfig } from './config'

/** What `cluster status` writes to. */
export interface ClusterCommandIo {
  stdout(text: string): void
  stderr(text: string): void
}

/**
 * `pinhole-server cluster status`: every node of every region in the config's Redis, its load and the
 * channels it holds; `--json` for machines. Exit 0; 1 when Redis cannot be reached; 2 without a cluster.
 */
export async function clusterStatusCommand(
  config: ServerConfig,
  json: boolean,
  io: ClusterCommandIo,
  logger: Logger,
): Promise<number> {
  if (config.cluster === undefined) {
    io.stderr('pinhole-server: cluster status needs a cluster section (cluster.redis) in the configuration\n')
    return 2
  }
  let reader: ClusterReader
  try {
    reader = await ClusterReader.connect(config.cluster.redis, logger)
  } catch (err) {
    if (!(err instanceof ClusterConnectError)) throw err
    io.stderr(`pinhole-server: ${err.message}\n`)
    return 1
  }
  try {
    const status = await reader.status()
    io.stdout(json ? `${JSON.stringify(status, null, 2)}\n` : formatClusterStatus(status))
    return 0
  } finally {
    await reader.close()
  }
}

const COLUMNS = [
  'NODE',
  'REGION',
  'SIGNAL',
  'STATE',
  'PARTICIPANTS',
  'CHANNELS',
  'PACKETS/S',
  'CPU',
  'HEARTBEAT',
]

/** One row per node, then the channels it holds, indented; ages from `readAt`. */
export function formatClusterStatus(status: ClusterStatus): string {
  if (status.nodes.length === 0) return 'no conference nodes registered\n'
  const rows = status.nodes.map((node) => row(node, status.readAt))
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  const out = [line(COLUMNS)]
  status.nodes.forEach((node, i) => {
    out.push(line(rows[i]!))
    const names = node.channels.map((c) => `${c.appKey}/${c.name}`)
    out.push(`  channels: ${names.length > 0 ? names.join(', ') : '(none)'}`)
  })
  return `${out.join('\n')}\n`
}

function row(node: NodeStatus, readAt: number): string[] {
  const state = [node.draining ? 'draining' : '', node.full ? 'full' : ''].filter(Boolean).join(',') || 'ok'
  const age = Math.max(0, readAt - node.heartbeatAt) / 1000
  return [
    node.id,
    node.region,
    node.signalUrl,
    state,
    String(node.load.participants),
    String(node.load.channels),
    String(node.load.packetsPerSecond),
    `${Math.round(node.load.cpu * 100)}%`,
    `${age.toFixed(1)} s ago`,
  ]
}
