import { existsSync, realpathSync } from 'node:fs'
import { isIP } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { DestinationStream, Logger } from 'pino'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { ProxyMetrics, ProxyServer, ProxyWorkerPool } from '../proxy'
import { startAdminServer, type AdminServer, type Health } from './admin'
import type { MetricFamily } from './exposition'
import { ConfigError, loadConfig, type ServerConfig } from './config'
import { CONFIG_FILE_ENV } from './defaults'
import { createLogger } from '../platform/logger'
import { formatWhitelistJson, formatWhitelistText, readRegionsFile } from './whitelist'
import { parentLink, SFU_WORKER_ENV, sfuWorkerCount, SfuWorkerPool } from './sfuWorkers'
import { waitForSignals } from './stopSignals'
import { clusterNode, clusterPlacement } from './clusterWiring'
import { clusterStatusCommand } from './clusterCommand'
import { configWarnings, describeConfigError, summary } from './configReport'

export { configWarnings, describeConfigError }

const NAME = 'pinhole-server'

export const USAGE = `Usage: ${NAME} <command> [options]

Commands:
  start [--config FILE]                run what the config enables (cloud proxy, conference server, or
                                       both) and one admin listener (/healthz, /metrics); SIGTERM/SIGINT
                                       drains and exits 0, a second signal exits at once
  whitelist [--config FILE] [--json]   print the firewall rules IT must open (and what must stay closed)
            [--regions FILE]             with the desktops' regions file: every proxy host of every region
  check-config [--config FILE]         validate the configuration: prints OK, or the bad field and exits 1
  cluster status [--config FILE] [--json]
                                       the conference nodes in cluster.redis: load, channels (docs/scaling.md)

Options:
  -c, --config FILE   config file, YAML or JSON (default: $${CONFIG_FILE_ENV})
      --regions FILE  whitelist: the regions desktops get (JSON, proxyHost / proxyHosts, ports)
      --json          whitelist or cluster status as JSON
  -h, --help          this text

Environment:
  ${CONFIG_FILE_ENV}=FILE             the config file when --config is not given
  PINHOLE__section__field=VALUE   override one field (JSON when it parses, else a string), e.g.
                                  PINHOLE__proxy__publicAddress=203.0.113.10

Exit codes: 0 ok; 1 check-config found a problem, or a runtime failure; 2 usage or configuration error.
See docs/operations.md, docs/proxy.md and docs/sfu.md.
`

/** What the CLI touches outside itself; tests pass their own. */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: Record<string, string | undefined>
  /** Immediate exit (second signal). */
  exit(code: number): void
  /** Where SIGTERM/SIGINT come from. */
  signals: Pick<NodeJS.EventEmitter, 'on' | 'off'>
  /** Where `start` writes its JSON log lines (default: stdout). */
  logDestination?: DestinationStream
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    exit: (code) => process.exit(code),
    signals: process,
  }
}

const COMMANDS = ['start', 'whitelist', 'check-config', 'cluster', 'help'] as const
type Command = (typeof COMMANDS)[number]
const isCommand = (s: string | undefined): s is Command => (COMMANDS as readonly unknown[]).includes(s)

/** Runs one command; resolves with the process exit code (for `start`, once drained). */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>
  try {
    parsed = parseCliArgs(argv)
  } catch (err) {
    io.stderr(`${NAME}: ${err instanceof Error ? err.message : String(err)}\nTry '${NAME} --help'.\n`)
    return 2
  }
  const { command, config: file, json, help, regions: regionsFile } = parsed
  if (help || command === 'help') {
    io.stdout(USAGE)
    return 0
  }
  if (command === undefined) {
    io.stderr(USAGE)
    return 2
  }
  if (regionsFile !== undefined && command !== 'whitelist') {
    io.stderr(`${NAME}: --regions applies to whitelist only\n`)
    return 2
  }
  if (json && command !== 'whitelist' && command !== 'cluster') {
    io.stderr(`${NAME}: --json applies to whitelist and cluster status only\n`)
    return 2
  }

  let config: ServerConfig
  try {
    config = loadConfig({ file, env: io.env })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.stderr(`${NAME}: ${describeConfigError(err)}\n`)
    return command === 'check-config' ? 1 : 2
  }

  switch (command) {
    case 'check-config':
      for (const warning of configWarnings(config)) io.stderr(`WARNING: ${warning}\n`)
      io.stdout(`OK ${summary(config, file ?? io.env[CONFIG_FILE_ENV])}\n`)
      return 0
    case 'whitelist':
      return whitelist(config, json, regionsFile, io)
    case 'start':
      return start(config, io, file ?? io.env[CONFIG_FILE_ENV])
    case 'cluster':
      return clusterStatusCommand(config, json, io, createLogger('silent'))
    default:
      return assertNever(command)
  }
}

function parseCliArgs(argv: readonly string[]): {
  command: Command | undefined
  config: string | undefined
  json: boolean
  help: boolean
  regions: string | undefined
} {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean', default: false },
      regions: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  })
  const [command, ...rest] = positionals
  if (command !== undefined && !isCommand(command)) throw new Error(`unknown command '${command}'`)
  // `cluster` has one subcommand so far: `cluster status`.
  if (command === 'cluster' && rest.shift() !== 'status') throw new Error("expected 'cluster status'")
  if (rest.length > 0) throw new Error(`unexpected argument '${rest[0]}'`)
  return { command, config: values.config, json: values.json, help: values.help, regions: values.regions }
}

/** `whitelist`: this config's proxy, or (`--regions`) every proxy host of the desktops' regions file. */
function whitelist(config: ServerConfig, json: boolean, regionsFile: string | undefined, io: CliIo): number {
  let regions: ReturnType<typeof readRegionsFile> | undefined
  try {
    regions = regionsFile === undefined ? undefined : readRegionsFile(regionsFile)
  } catch (err) {
    io.stderr(`${NAME}: ${err instanceof Error ? err.message : String(err)}\n`)
    return 2
  }
  io.stdout(json ? formatWhitelistJson(config, regions) : formatWhitelistText(config, regions))
  return 0
}

/** One started part of the server, as `start` drives it. */
interface Component {
  name: 'sfu' | 'proxy'
  registry: Registry
  health(): Health | Promise<Health>
  /** Series of other processes (the `sfu.workers`) served with the registry's. */
  remoteMetrics?(): Promise<MetricFamily[]>
  /** What the `started` log line says about it. */
  describe(): Record<string, unknown>
  /** Graceful stop (SIGTERM). */
  drain(): Promise<void>
  /** Immediate stop (another component failed to start). */
  close(): Promise<void>
}

/** Node process metrics (process_*, nodejs_*), once, whatever runs. */
function processRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return registry
}

async function startSfu(config: ServerConfig, logger: Logger): Promise<Component> {
  // Loaded here, not at the top: check-config and whitelist need none of werift.
  const { ConferenceServer } = await import('../sfu')
  const sfu = await ConferenceServer.start(config.sfu, { apps: config.apps, logger })
  // With a cluster section, the node registers in Redis (docs/scaling.md); Redis down fails the start.
  const node = await clusterNode(config, sfu, logger)
  const { listenHost } = config.sfu
  const host = isIP(listenHost) === 6 ? `[${listenHost}]` : listenHost
  return {
    name: 'sfu',
    registry: sfu.registry,
    health: () => sfu.health(),
    describe: () => ({
      signal: `ws://${host}:${sfu.port}/v1/signal`,
      announcedAddress: config.sfu.announcedAddress,
      devTokens: config.sfu.devTokens,
      ...node.describe(),
    }),
    drain: () => node.drain(),
    close: () => node.close(),
  }
}

async function startSfuWorkers(
  config: ServerConfig,
  count: number,
  file: string | undefined,
  io: CliIo,
  logger: Logger,
): Promise<Component> {
  const pool = await SfuWorkerPool.start({
    count,
    config,
    file,
    logger: logger.child({ component: 'sfu' }),
    allGone: (code) => {
      logger.flush()
      io.exit(code)
    },
  })
  return {
    name: 'sfu',
    registry: new Registry(),
    health: () => pool.health(),
    remoteMetrics: () => pool.metrics(),
    describe: () => pool.describe(),
    drain: () => pool.drain(),
    close: () => pool.close(),
  }
}

async function startProxy(
  config: ServerConfig,
  proxyConfig: NonNullable<ServerConfig['proxy']>,
  logger: Logger,
): Promise<Component> {
  // Process metrics come from processRegistry(): a merged exposition must not have them twice.
  const metrics = new ProxyMetrics({ defaultMetrics: false })
  const proxyLogger = logger.child({ component: 'proxy' })
  const section = { apps: config.apps, proxy: proxyConfig }
  // With a cluster section, sessions place channels on the region's nodes (docs/scaling.md).
  const placement = clusterPlacement(config, logger)
  const proxy =
    proxyConfig.workers > 1
      ? await ProxyWorkerPool.start(
          section,
          { logger: proxyLogger, metrics, logLevel: config.log.level },
          proxyConfig.workers,
        )
      : await ProxyServer.start(section, { logger: proxyLogger, metrics }, placement ? { placement } : {})
  return {
    name: 'proxy',
    registry: metrics.registry,
    health: () => proxy.health(),
    describe: () => ({
      publicAddress: proxyConfig.publicAddress,
      ports: proxy.addresses(),
      tlsFingerprint: proxy.tlsFingerprint,
      signalUpstream: proxyConfig.signal.upstream,
    }),
    drain: () => proxy.drain().finally(() => placement?.close()),
    close: () => proxy.close().finally(() => placement?.close()),
  }
}

/** Every component healthy → ok; details per component. */
async function combinedHealth(components: readonly Component[]): Promise<Health> {
  const details: Record<string, unknown> = {}
  let ok = true
  const healths = await Promise.all(components.map((c) => c.health()))
  for (const [i, component] of components.entries()) {
    const health = healths[i]!
    details[component.name] = { ok: health.ok, ...health.details }
    ok &&= health.ok
  }
  return { ok, details }
}

/** The workers' series for the admin listener, when a component has any (`sfu.workers` above 1). */
function remoteMetrics(components: readonly Component[]): { remoteMetrics?: () => Promise<MetricFamily[]> } {
  const remote = components.flatMap((c) => (c.remoteMetrics ? [c.remoteMetrics] : []))
  if (remote.length === 0) return {}
  return { remoteMetrics: async () => (await Promise.all(remote.map((read) => read()))).flat() }
}

async function start(config: ServerConfig, io: CliIo, file: string | undefined): Promise<number> {
  const proxyConfig = config.proxy?.enabled ? config.proxy : undefined
  const region = proxyConfig ? { region: proxyConfig.region } : undefined
  const logger = createLogger(config.log.level, { service: NAME, ...region }, io.logDestination)
  for (const warning of configWarnings(config)) logger.warn(warning)

  // The conference server first: the proxy forwards signaling to it.
  const components: Component[] = []
  let starting: Component['name'] = 'sfu'
  try {
    const workers = sfuWorkerCount(config)
    if (config.sfu.enabled && workers > 1) {
      components.push(await startSfuWorkers(config, workers, file, io, logger))
    } else if (config.sfu.enabled) {
      components.push(await startSfu(config, logger))
    }
    starting = 'proxy'
    if (proxyConfig) components.push(await startProxy(config, proxyConfig, logger))
  } catch (err) {
    logger.fatal({ err }, `${starting} failed to start`)
    await Promise.allSettled(components.map((c) => c.close()))
    return 1
  }
  let admin: AdminServer
  try {
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      registry: [processRegistry(), ...components.map((c) => c.registry)],
      ...(region ? { labels: region } : {}),
      ...remoteMetrics(components),
      health: () => combinedHealth(components),
    })
  } catch (err) {
    logger.fatal({ err }, 'admin listener failed to start')
    await Promise.allSettled(components.map((c) => c.close()))
    return 1
  }
  const worker = io.env[SFU_WORKER_ENV]
  logger.info(
    {
      // A worker's line says so: the workers and the parent share one stdout (one journal).
      ...(worker === undefined ? {} : { sfuWorker: Number(worker) }),
      components: components.map((c) => c.name),
      ...Object.fromEntries(components.map((c) => [c.name, c.describe()])),
      admin: `${config.admin.host}:${admin.port}`,
    },
    'started',
  )
  const parent = parentLink(io.env)
  const sfu = components.find((c) => c.name === 'sfu')?.describe()
  parent?.started({
    signal: String(sfu?.['signal'] ?? ''),
    admin: admin.port,
    node: String(sfu?.['nodeId'] ?? ''),
  })
  return waitForSignals({ signals: io.signals, exit: io.exit }, logger, parent, async () => {
    // Both at once: health turns 503 everywhere, new joins and signaling stop, calls get their budgets.
    const results = await Promise.allSettled(components.map((c) => c.drain()))
    await admin.close()
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
  })
}

function assertNever(value: never): never {
  throw new Error(`unhandled command: ${String(value)}`)
}

/** Entry point for bin/pinhole-server.js and `tsx src/server/cli.ts`. */
export function runCli(argv: readonly string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${NAME}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exit(1)
    },
  )
}

const entry = process.argv[1]
if (entry !== undefined && existsSync(entry) && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  runCli()
}
