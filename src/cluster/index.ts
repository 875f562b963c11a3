/**
 * The conference cluster through Redis (docs/scaling.md): the only way into src/cluster, for the server
 * command. A conference node registers itself and heart-beats its load (`NodeRegistry`); a proxy places
 * channels on nodes (`createRedisPlacement`, a `ChannelPlacement` of src/shared/cluster.ts); the status
 * command reads both (`ClusterReader`). The proxy and the SFU never import this layer.
 */
export { ClusterReader, type ClusterStatus, type NodeStatus } from './clusterStatus'
export { NodeRegistry, type NodeRegistryOptions, type NodeSample } from './nodeRegistry'
export {
  createRedisPlacement,
  DEFAULT_CLAIM_TTL_MS,
  DEFAULT_UNREACHABLE_SKIP_MS,
  type RedisPlacement,
  type RedisPlacementOptions,
} from './placement'
export { ClusterConnectError, redisAddress } from './redisClient'
