/**
 * The cluster's Lua scripts, run by Redis atomically (EVALSHA through ioredis `defineCommand`, which falls back
 * to EVAL after a Redis restart emptied the script cache). Key names are built from the prefix passed in
 * ARGV[1] exactly as `keys.ts` spells them. One Redis (or a Sentinel-managed primary), not Redis Cluster:
 * a placement touches keys of several hash slots (docs/scaling.md).
 */

/**
 * Placement. ARGV: prefix, region, channel member, claim TTL (ms), then node ids to skip (unreachable).
 * Returns {nodeId, signalUrl}, or nil when the region has no live, non-draining, non-full node.
 *
 * 1. The channel key names a live (node hash exists), non-draining, not skipped node: that node, its key
 *    kept for at least the claim TTL (this answer's join is on its way: were the key to expire before it
 *    arrives, another session could place the channel elsewhere and split it).
 * 2. Else the least loaded live, non-draining, non-full, not skipped node of the region: load is the
 *    reported participants plus one per channel placed on it that it does not report yet (its first join is
 *    on its way), so a burst of new channels between two heartbeats spreads instead of piling onto the node
 *    that was emptiest a second ago; ties go to fewer packets/s, then to the lower id. The channel key is SET
 *    to it with the claim TTL and the channel joins the node's channel set.
 * Region members whose node hash expired are removed on the way.
 */
export const PLACE_SCRIPT = `
local p, region, member, claimTtl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local skip = {}
for k = 5, #ARGV do skip[ARGV[k]] = true end
local channelKey = p .. 'channel:' .. member
local holder = redis.call('GET', channelKey)
if holder and not skip[holder] then
  local f = redis.call('HMGET', p .. 'node:' .. holder, 'draining', 'signalUrl')
  if f[1] then
    if redis.call('PTTL', channelKey) < claimTtl then redis.call('PEXPIRE', channelKey, claimTtl) end
    return {holder, f[2]}
  end
end
local regionKey = p .. 'region:' .. region .. ':nodes'
local best, bestLoad, bestPps, bestUrl
for _, id in ipairs(redis.call('SMEMBERS', regionKey)) do
  local nodeKey = p .. 'node:' .. id
  local f = redis.call('HMGET', nodeKey, 'draining', 'full', 'participants', 'channels', 'packetsPerSecond', 'signalUrl')
  if not f[1] then
    redis.call('SREM', regionKey, id)
  elseif f[1] == '0' and f[2] == '0' and not skip[id] then
    local pending = redis.call('SCARD', nodeKey .. ':channels') - tonumber(f[4])
    if pending < 0 then pending = 0 end
    local load = tonumber(f[3]) + pending
    local pps = tonumber(f[5])
    if not best or load < bestLoad or (load == bestLoad and (pps < bestPps or (pps == bestPps and id < best))) then
      best, bestLoad, bestPps, bestUrl = id, load, pps, f[6]
    end
  end
end
if not best then return nil end
redis.call('SET', channelKey, best, 'PX', claimTtl)
local setKey = p .. 'node:' .. best .. ':channels'
redis.call('SADD', setKey, member)
if redis.call('PTTL', setKey) < claimTtl then redis.call('PEXPIRE', setKey, claimTtl) end
if holder and holder ~= best then redis.call('SREM', p .. 'node:' .. holder .. ':channels', member) end
return {best, bestUrl}
`

/**
 * Heartbeat. ARGV: prefix, node id, region, TTL (ms), n, then n field/value pairs of the node hash, then m and
 * m live channel members (channels with participants; none after the node released its channels), then g
 * and g emptied channel members. Returns the live members another live node holds.
 *
 * Writes the whole node hash (so the first heartbeat after a Redis restart re-creates it), refreshes the TTL
 * of the node, of its channel set and of every live channel it holds; claims a live channel whose key is
 * missing (Redis restarted, or the claim expired) or names a dead node; compare-and-deletes emptied channels;
 * drops from its set the placements that expired or went elsewhere; prunes dead nodes from its region.
 */
export const HEARTBEAT_SCRIPT = `
local p, id, region, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local nodeKey = p .. 'node:' .. id
local setKey = nodeKey .. ':channels'
local regionKey = p .. 'region:' .. region .. ':nodes'
local i = 5
local fields = {}
for k = 1, tonumber(ARGV[i]) * 2 do fields[k] = ARGV[i + k] end
i = i + 1 + #fields
redis.call('HSET', nodeKey, unpack(fields))
redis.call('PEXPIRE', nodeKey, ttl)
redis.call('SADD', regionKey, id)
redis.call('SADD', p .. 'regions', region)
local conflicts = {}
local live = {}
local liveCount = tonumber(ARGV[i])
i = i + 1
for k = 1, liveCount do
  local member = ARGV[i]
  i = i + 1
  live[member] = true
  local channelKey = p .. 'channel:' .. member
  local holder = redis.call('GET', channelKey)
  if holder and holder ~= id and redis.call('EXISTS', p .. 'node:' .. holder) == 1 then
    conflicts[#conflicts + 1] = member
  else
    redis.call('SET', channelKey, id, 'PX', ttl)
    redis.call('SADD', setKey, member)
  end
end
local goneCount = tonumber(ARGV[i])
i = i + 1
for k = 1, goneCount do
  local member = ARGV[i]
  i = i + 1
  local channelKey = p .. 'channel:' .. member
  if redis.call('GET', channelKey) == id then redis.call('DEL', channelKey) end
  redis.call('SREM', setKey, member)
end
for _, member in ipairs(redis.call('SMEMBERS', setKey)) do
  if not live[member] and redis.call('GET', p .. 'channel:' .. member) ~= id then
    redis.call('SREM', setKey, member)
  end
end
redis.call('PEXPIRE', setKey, ttl)
for _, other in ipairs(redis.call('SMEMBERS', regionKey)) do
  if redis.call('EXISTS', p .. 'node:' .. other) == 0 then redis.call('SREM', regionKey, other) end
end
return conflicts
`

/**
 * Release (drain, move, deregister). ARGV: prefix, node id, then 1 to also delete the node itself. Every
 * channel key of the node's set that still names the node is deleted (compare-and-delete: a channel already
 * placed elsewhere is left alone), then the set. Returns how many channel keys were deleted.
 */
export const RELEASE_SCRIPT = `
local p, id, deregister = ARGV[1], ARGV[2], ARGV[3] == '1'
local nodeKey = p .. 'node:' .. id
local setKey = nodeKey .. ':channels'
local released = 0
for _, member in ipairs(redis.call('SMEMBERS', setKey)) do
  local channelKey = p .. 'channel:' .. member
  if redis.call('GET', channelKey) == id then
    redis.call('DEL', channelKey)
    released = released + 1
  end
end
redis.call('DEL', setKey)
if deregister then
  local region = redis.call('HGET', nodeKey, 'region')
  if region then redis.call('SREM', p .. 'region:' .. region .. ':nodes', id) end
  redis.call('DEL', nodeKey)
end
return released
`
