import type { ChannelRef } from '../shared/cluster'

/**
 * The Redis keys of the cluster (docs/scaling.md, "What lives in Redis"), in one place. The Lua scripts build
 * the same names from the prefix they are given; this module is the only other place that spells them.
 *
 *   <p>node:<id>              hash: the NodeRecord's fields and load, PEXPIRE ttlMs (refreshed by each heartbeat)
 *   <p>node:<id>:channels     set of channel members the node holds (placed or claimed), same TTL
 *   <p>region:<region>:nodes  set of node ids of the region (dead ids pruned by scripts and status reads)
 *   <p>regions                set of region names
 *   <p>channel:<member>       string: the holding node's id, TTL (claim, then refreshed by the heartbeat)
 */
export const DEFAULT_PREFIX = 'pinhole:'

/**
 * A channel as one key-safe token, `<appKey>:<name>` with both parts URI-encoded, so that no app key or
 * name can make two channels share a key (neither part can hold a raw ':').
 */
export function channelMember(channel: ChannelRef): string {
  return `${encodeURIComponent(channel.appKey)}:${encodeURIComponent(channel.name)}`
}

export function parseChannelMember(member: string): ChannelRef {
  const colon = member.indexOf(':')
  if (colon < 0) throw new Error(`not a channel member: ${member}`)
  return {
    appKey: decodeURIComponent(member.slice(0, colon)),
    name: decodeURIComponent(member.slice(colon + 1)),
  }
}

export function clusterKeys(prefix = DEFAULT_PREFIX) {
  return {
    prefix,
    node: (id: string) => `${prefix}node:${id}`,
    nodeChannels: (id: string) => `${prefix}node:${id}:channels`,
    regionNodes: (region: string) => `${prefix}region:${region}:nodes`,
    regions: `${prefix}regions`,
    channel: (member: string) => `${prefix}channel:${member}`,
  }
}
export type ClusterKeys = ReturnType<typeof clusterKeys>
