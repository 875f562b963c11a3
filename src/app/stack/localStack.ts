import { randomBytes } from 'node:crypto'
import type { DirectConfig, EngineLogger } from '../../engine'
import {
  ProxyMetrics,
  ProxyServer,
  proxySectionSchema,
  resolveRelayAddress,
  type ProxyApp,
} from '../../proxy'
import { mintJoinToken } from '../../protocol/auth/joinToken'
import { createLogger, type Logger, type LogLevel } from '../../platform/logger'
import type { Region } from '../../shared/engine'
import { SIGNAL_PATH } from '../../shared/proxySession'
import { ConferenceServer, SfuConfigSchema } from '../../sfu'

/**
 * The embedded local stack (docs/app.md "The embedded local stack"): a cloud proxy and a conference server
 * in this process on 127.0.0.1, so the app works on one computer with no region configured. Every port is
 * picked free by the OS (TCP 443 becomes a free high port), the proxy's self-signed certificate is pinned by
 * the region "This computer", and an app secret is generated per run so the app can mint its own development
 * tokens. What other instances need to use it is `LocalStackInfo` (discovery.ts publishes it). "Local stack"
 * is the code's one name for it; "embedded" survives only in the policy key `allowEmbeddedStack` and the
 * discovery file's name, which users and IT already rely on.
 */

export const LOCAL_REGION_ID = 'local'
export const LOCAL_REGION_NAME = 'This computer'
export const LOCAL_APP_KEY = 'pinhole-local'
/** Development tokens live this long; the form asks for a new one at each join. */
export const DEV_TOKEN_TTL_SECONDS = 3600

/** Everything a participant needs to use a running stack; what the discovery file holds. */
export interface LocalStackInfo {
  version: 1
  /** The process that runs the stack. */
  pid: number
  /** Random per start: tells one publication of the discovery file from another. */
  nonce: string
  appKey: string
  /** The per-run app secret (never in the settings; in the discovery file only, mode 0600). */
  secret: string
  region: Region
  /** ws:// of the conference server itself, for proxy mode None. */
  sfuSignalUrl: string
  startedAt: string
}

export interface LocalStack {
  readonly info: LocalStackInfo
  /** True when this process runs the servers (close stops them); false for one found by discovery. */
  readonly owned: boolean
  /** Mode None: the conference server directly, with the proxy's STUN port so werift asks no public server. */
  readonly direct: DirectConfig
  mintToken(channel: string, uid: number): Promise<string>
  close(): Promise<void>
}

export interface StartLocalStackOptions {
  /** Server log level (pino JSON on stdout); default `PINHOLE_STACK_LOG` or 'error' (a generated certificate is expected here). */
  logLevel?: LogLevel
}

export function directConfigOf(info: LocalStackInfo): DirectConfig {
  return {
    signalUrl: info.sfuSignalUrl,
    iceServers: [{ urls: `stun:127.0.0.1:${info.region.ports.udp[0]}` }],
  }
}

/** A stack by its info: mints tokens with its secret; `close` stops the servers only when `stop` is given. */
export function localStackOf(info: LocalStackInfo, stop?: () => Promise<void>): LocalStack {
  let closing: Promise<void> | undefined
  return {
    info,
    owned: stop !== undefined,
    direct: directConfigOf(info),
    mintToken: (channel, uid) =>
      mintJoinToken({
        appKey: info.appKey,
        secret: info.secret,
        channel,
        uid,
        ttlSeconds: DEV_TOKEN_TTL_SECONDS,
      }),
    close: () => (closing ??= stop ? stop() : Promise.resolve()),
  }
}

export async function startLocalStack(options: StartLocalStackOptions = {}): Promise<LocalStack> {
  const level = options.logLevel ?? ((process.env['PINHOLE_STACK_LOG'] ?? 'error') as LogLevel)
  const logger = createLogger(level, { service: 'pinhole-local-stack' })
  const app = { appKey: LOCAL_APP_KEY, secret: randomBytes(32).toString('base64url') }
  const sfu = await ConferenceServer.start(
    SfuConfigSchema.parse({ enabled: true, listenHost: '127.0.0.1', port: 0, announcedAddress: '127.0.0.1' }),
    { apps: [app], logger },
  )
  const sfuSignalUrl = `ws://127.0.0.1:${sfu.port}${SIGNAL_PATH}`
  let proxy: ProxyServer
  try {
    proxy = await startLocalProxy(app, sfuSignalUrl, logger)
  } catch (error) {
    await sfu.close()
    throw error
  }
  const { udp, tcp } = proxy.addresses()
  const info: LocalStackInfo = {
    version: 1,
    pid: process.pid,
    nonce: randomBytes(16).toString('hex'),
    appKey: app.appKey,
    secret: app.secret,
    region: {
      id: LOCAL_REGION_ID,
      name: LOCAL_REGION_NAME,
      proxyHost: '127.0.0.1',
      ports: { udp: [udp[0]!, udp[1]!], tcp },
      tlsFingerprintSha256: proxy.tlsFingerprint,
    },
    sfuSignalUrl,
    startedAt: new Date().toISOString(),
  }
  logQuietly(logger, info)
  return localStackOf(info, async () => {
    await Promise.allSettled([proxy.close(), sfu.close()])
  })
}

/** The cloud proxy on loopback, relaying to the conference server at `sfuSignalUrl`. */
function startLocalProxy(app: ProxyApp, sfuSignalUrl: string, logger: Logger): Promise<ProxyServer> {
  const section = proxySectionSchema.parse({
    region: LOCAL_REGION_ID,
    publicAddress: '127.0.0.1',
    listenHost: '127.0.0.1',
    ports: { udp: [0, 0], tcp: 0 },
    relay: { listenHost: '127.0.0.1' },
    turnSecret: randomBytes(32).toString('base64url'),
    // The conference server is on loopback: the one place a relay to 127.0.0.0/8 is right.
    peers: { allow: ['127.0.0.0/8'], allowLoopback: true },
    // Several windows and probes on one machine: the public default (20/s) is for the internet.
    rateLimit: { unauthenticatedPerSecond: 500, burst: 1000 },
    signal: { upstream: sfuSignalUrl },
  })
  return ProxyServer.start(
    { apps: [app], proxy: resolveRelayAddress(section) },
    { logger, metrics: new ProxyMetrics({ defaultMetrics: false }) },
  )
}

function logQuietly(logger: EngineLogger, info: LocalStackInfo): void {
  const { region } = info
  logger.info(
    { udp: region.ports.udp, tcp: region.ports.tcp, fingerprint: region.tlsFingerprintSha256 },
    'embedded local stack started',
  )
}
