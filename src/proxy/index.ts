/**
 * The cloud proxy (docs/proxy.md): the only way into src/proxy for the server command, the desktop app's
 * embedded stack, tests and benchmarks.
 */
export { ProxyServer, type ProxyServerDeps, type ProxyServerOptions } from './proxyServer'
export { loadProxyCert } from './wiring'
export { ProxyWorkerPool } from './workers/workerPool'
export { METRIC_PREFIX, ProxyMetrics, type ProxyMetricsSnapshot } from './metrics'
export {
  PROXY_DEFAULTS,
  proxySectionSchema,
  resolveRelayAddress,
  type ProxyApp,
  type ProxySection,
  type ProxyServerConfig,
} from './config'
export { createPeerPolicy, type PeerPolicyOptions, type PeerVerdict } from './turn/core/peerPolicy'
export { loadOrGenerateCert, type CertMaterial, type CertOptions } from './edge443/tlsCert'
export { SESSION_API_DEFAULTS } from './api/proxySessionRoute'
export { BUILD_COMMAND, loadRelayAddon, type AddonLoad } from './turn/node/fastPathAddon'
