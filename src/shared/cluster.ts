/**
 * The conference cluster's contracts (docs/scaling.md): what the cloud proxy, the conference nodes and the
 * server command agree on when a region runs several conference nodes coordinated through Redis. Types only,
 * so every layer may import them; the Redis side lives in `src/cluster`, which only the server command wires
 * in. The proxy and the conference server stay leaves: they take a `ChannelPlacement` or report their
 * channels, and never import the cluster code.
 */

/** A channel: its app and its name (two apps' channels of the same name never meet). */
export interface ChannelRef {
  appKey: string
  name: string
}

/** What a node reports at each heartbeat. */
export interface NodeLoad {
  participants: number
  channels: number
  /** Forwarded RTP/RTCP packets per second over the last heartbeat interval. */
  packetsPerSecond: number
  /** Share of one core the node's process used over the last heartbeat interval, 0..1 (may exceed 1). */
  cpu: number
}

/** A conference node as the registry lists it (`pinhole-server cluster status`). */
export interface NodeRecord {
  id: string
  region: string
  /** The node's signaling WebSocket, as the proxy's signal relay dials it (`ws://10.0.2.5:7000/v1/signal`). */
  signalUrl: string
  /** The IP the node announces in ICE candidates: TURN peers of its calls (inside `proxy.peers.allow`). */
  mediaAddress: string
  /** ms since the epoch. */
  startedAt: number
  /** ms since the epoch of the last heartbeat. */
  heartbeatAt: number
  /** A draining node takes no new channels (SIGTERM); its calls go on until they end or are moved. */
  draining: boolean
  /** A full node (participants or packets/s at the configured ceiling) takes no new channels. */
  full: boolean
  load: NodeLoad
}

/** Where a channel lives. */
export interface NodePlacement {
  nodeId: string
  signalUrl: string
}

/** Why a placement could not be made (the proxy answers 503 with these codes; the engine retries). */
export const ClusterErrorCode = {
  /** The cluster store (Redis) cannot be reached. */
  Unavailable: 'cluster_unavailable',
  /** No live, non-draining, non-full node in the proxy's region. */
  NoNode: 'no_node_available',
} as const
export type ClusterErrorCode = (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode]

/** Thrown by a ChannelPlacement. */
export class PlacementError extends Error {
  constructor(
    readonly code: ClusterErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'PlacementError'
  }
}

/**
 * The proxy's view of the cluster: the node that holds a channel, placing it on the least loaded live node
 * of the region on its first join. Atomic: two proxies placing the same new channel at once get the same
 * node. Rejects with PlacementError.
 */
export interface ChannelPlacement {
  place(channel: ChannelRef): Promise<NodePlacement>
  /** A node the proxy could not reach: placement may skip it until it heart-beats again. */
  unreachable?(nodeId: string): void
}
