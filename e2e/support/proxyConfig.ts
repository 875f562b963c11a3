/** Test-only: a valid proxy configuration on free loopback ports. */
import { parseConfig, type ProxyServerConfig, type ServerConfig } from '../../src/server/config'

export const TEST_APP = { appKey: 'test-app', secret: 'test-app-secret-0123456789' }
export const TEST_TURN_SECRET = 'test-turn-secret-0123456789'

export function testProxyConfig(
  overrides: {
    allowLoopback?: boolean
    proxy?: Record<string, unknown>
    apps?: { appKey: string; secret: string }[]
  } = {},
): ServerConfig & ProxyServerConfig {
  const config = parseConfig({
    log: { level: 'info' },
    apps: overrides.apps ?? [TEST_APP],
    proxy: {
      region: 'test',
      publicAddress: '127.0.0.1',
      listenHost: '127.0.0.1',
      ports: { udp: [0, 0], tcp: 0 },
      relay: { listenHost: '127.0.0.1', portRange: [40000, 49999] },
      turnSecret: TEST_TURN_SECRET,
      peers: { allow: ['127.0.0.0/8'], allowLoopback: overrides.allowLoopback ?? true },
      rateLimit: { unauthenticatedPerSecond: 1000, burst: 1000 },
      signal: { upstream: 'ws://127.0.0.1:9/v1/signal' },
      ...overrides.proxy,
    },
    admin: { host: '127.0.0.1', port: 0 },
  })
  const { proxy } = config
  if (proxy === undefined) throw new Error('unreachable: this config has a proxy section')
  return { ...config, proxy }
}
