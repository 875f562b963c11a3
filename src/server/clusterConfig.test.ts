import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig, type ServerConfigInput } from './config'
import { configWarnings } from './configReport'
import { CLUSTER_DEFAULTS } from './clusterConfig'

const APPS = [{ appKey: 'app', secret: 'a-secret-of-16-chars' }]
const PROXY = {
  publicAddress: '203.0.113.10',
  turnSecret: 'turn-secret-16-chars',
  peers: { allow: ['10.0.0.0/24'] },
  signal: { upstream: 'ws://10.0.0.5:8080/v1/signal' },
}

function node(cluster: Record<string, unknown>): ServerConfigInput {
  return { apps: APPS, sfu: { enabled: true }, cluster } as ServerConfigInput
}

function issues(input: ServerConfigInput): string[] {
  try {
    parseConfig(input)
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`)
    throw err
  }
  return []
}

describe('the cluster section', () => {
  it('is optional: without it there is no cluster', () => {
    expect(parseConfig({ apps: APPS, sfu: { enabled: true } }).cluster).toBeUndefined()
  })

  it('fills its defaults; the region is cluster.region, else proxy.region, else default', () => {
    expect(parseConfig(node({ redis: 'redis://10.0.2.9:6379' })).cluster).toEqual({
      redis: 'redis://10.0.2.9:6379',
      region: 'default',
      heartbeatMs: CLUSTER_DEFAULTS.heartbeatMs,
      ttlMs: CLUSTER_DEFAULTS.ttlMs,
      drainMoveAfterMs: CLUSTER_DEFAULTS.drainMoveAfterMs,
    })
    const withProxy = {
      apps: APPS,
      proxy: { ...PROXY, region: 'shanghai' },
      cluster: { redis: 'redis://r:6379' },
    }
    expect(parseConfig(withProxy).cluster?.region).toBe('shanghai')
    const own = { ...withProxy, cluster: { redis: 'redis://r:6379', region: 'beijing' } }
    expect(parseConfig(own).cluster?.region).toBe('beijing')
  })

  it.each([
    [{ redis: 'http://10.0.2.9:6379' }, 'cluster.redis: expected a redis:// or rediss:// URL'],
    [{}, 'cluster.redis: required'],
    [{ redis: 'redis://r', heartbeatMs: 1000, ttlMs: 1500 }, 'cluster.ttlMs: expected at least twice'],
    [{ redis: 'redis://r', nodeId: 'a b' }, 'cluster.nodeId: expected 1-64 letters'],
    [{ redis: 'redis://r', maxParticipants: 0 }, 'cluster.maxParticipants: expected an integer'],
    [{ redis: 'redis://r', extra: 1 }, 'cluster.extra: unknown field'],
  ])('refuses %j', (cluster, message) => {
    expect(issues(node(cluster)).join('\n')).toContain(message)
  })

  it('refuses proxy workers with a cluster (they would not place channels)', () => {
    const input = { apps: APPS, proxy: { ...PROXY, workers: 2 }, cluster: { redis: 'redis://r:6379' } }
    expect(issues(input).join('\n')).toContain('proxy.workers: expected 1 with a cluster section')
  })

  it('needs no proxy.signal.upstream with a cluster (placement routes), and names it without one', () => {
    const { signal: _routed, ...proxy } = PROXY
    const clustered = parseConfig({ apps: APPS, proxy, cluster: { redis: 'redis://r:6379' } })
    expect(clustered.proxy?.signal.upstream).toBeUndefined()
    expect(clustered.proxy?.signal.joinTimeoutMs).toBeGreaterThan(0)
    expect(configWarnings(clustered)).toEqual([])
    expect(issues({ apps: APPS, proxy }).join('\n')).toContain(
      'proxy.signal.upstream: required: the conference server signaling is relayed to',
    )
  })

  it('does not warn that signaling goes elsewhere than sfu.port: in a cluster it goes to the nodes', () => {
    const input = { apps: APPS, proxy: PROXY, sfu: { enabled: true, announcedAddress: '10.0.0.5' } }
    expect(configWarnings(parseConfig(input)).join('\n')).toContain('is not this conference server')
    const clustered = { ...input, cluster: { redis: 'redis://r:6379' } }
    expect(configWarnings(parseConfig(clustered)).join('\n')).not.toContain('is not this conference server')
  })
})
