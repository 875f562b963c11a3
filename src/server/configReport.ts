import { createPeerPolicy } from '../proxy'
import type { ConfigError, ServerConfig } from './config'
import { listenerRangeOverlaps } from './listenerClashes'

/*
 * What `check-config` and `start` say about a configuration besides its errors: one line naming a bad
 * field, the one-line summary, and the warnings for a config that is valid but probably wrong.
 */

/** One line that names the file and the field. */
export function describeConfigError(err: ConfigError): string {
  const where = err.file !== undefined ? ` in ${err.file}` : ''
  const what = err.code === 'invalid' ? 'invalid configuration' : 'configuration error'
  return `${what}${where}: ${err.message}`
}

export function summary(config: ServerConfig, file: string | undefined): string {
  const source = file ? file : 'environment'
  const { proxy, sfu, admin } = config
  const parts: string[] = []
  if (proxy?.enabled) {
    const { publicAddress, region, ports } = proxy
    parts.push(`proxy ${publicAddress} (region ${region}): udp ${ports.udp.join(',')}, tcp ${ports.tcp}`)
  } else if (proxy) {
    parts.push('proxy disabled')
  }
  if (sfu.enabled) parts.push(`sfu ${sfu.listenHost}:${sfu.port} (announced ${sfu.announcedAddress})`)
  if (config.cluster)
    parts.push(`cluster ${redisHost(config.cluster.redis)} (region ${config.cluster.region})`)
  parts.push(`admin ${admin.host}:${admin.port}`)
  return `${source}: ${parts.join('; ')}`
}

/**
 * Valid but probably wrong: a port range that overlaps another listener, or a proxy and a conference
 * server in one config that cannot reach each other. `check-config` prints these, `start` logs them;
 * neither refuses.
 */
export function configWarnings(config: ServerConfig): string[] {
  const { proxy, sfu } = config
  const warnings = listenerRangeOverlaps(config)
  if (!proxy?.enabled || !sfu.enabled) return warnings
  const verdict = createPeerPolicy(proxy.peers)(sfu.announcedAddress)
  if (!verdict.ok) {
    warnings.push(
      `proxy.peers refuses sfu.announcedAddress ${sfu.announcedAddress} (${verdict.reason}): ` +
        'the relay cannot carry media to this conference server',
    )
  }
  // In a cluster, signaling goes to the channel's node, not to proxy.signal.upstream.
  if (config.cluster || proxy.signal.upstream === undefined) return warnings
  const upstream = new URL(proxy.signal.upstream)
  const upstreamPort = upstream.port !== '' ? Number(upstream.port) : upstream.protocol === 'wss:' ? 443 : 80
  if (sfu.port !== 0 && upstreamPort !== sfu.port) {
    warnings.push(
      `proxy.signal.upstream ${proxy.signal.upstream} is not this conference server (sfu.port ${sfu.port}): ` +
        'signaling goes elsewhere',
    )
  }
  return warnings
}

/** host:port of a Redis URL, never its password. */
function redisHost(url: string): string {
  return new URL(url).host
}
