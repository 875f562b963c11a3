import { existsSync, realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Logger } from 'pino'
import { ProxyMetrics } from '../proxy/metrics'
import { startAdminServer, type AdminServer } from './admin'
import { ConfigError, loadConfig, type ServerConfig } from './config'
import { CONFIG_FILE_ENV } from './defaults'
import { createLogger } from './logger'
import { formatWhitelistJson, formatWhitelistText } from './whitelist'

const NAME = 'pinhole-server'

export const USAGE = `Usage: ${NAME} <command> [options]

Commands:
  start [--config FILE]                run the cloud proxy and its admin listener; SIGTERM/SIGINT drains
                                       and exits 0, a second signal exits at once
  whitelist [--config FILE] [--json]   print the firewall rules IT must open (and what must stay closed)
  check-config [--config FILE]         validate the configuration: prints OK, or the bad field and exits 1

Options:
  -c, --config FILE   config file, YAML or JSON (default: $${CONFIG_FILE_ENV})
      --json          whitelist as JSON
  -h, --help          this text

Environment:
  ${CONFIG_FILE_ENV}=FILE             the config file when --config is not given
  PINHOLE__section__field=VALUE   override one field (JSON when it parses, else a string), e.g.
                                  PINHOLE__proxy__publicAddress=203.0.113.10

Exit codes: 0 ok; 1 check-config found a problem, or a runtime failure; 2 usage or configuration error.
See docs/proxy.md.
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

const COMMANDS = ['start', 'whitelist', 'check-config', 'help'] as const
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
  const { command, config: file, json, help } = parsed
  if (help || command === 'help') {
    io.stdout(USAGE)
    return 0
  }
  if (command === undefined) {
    io.stderr(USAGE)
    return 2
  }
  if (json && command !== 'whitelist') {
    io.stderr(`${NAME}: --json applies to whitelist only\n`)
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
      io.stdout(`OK ${summary(config, file ?? io.env[CONFIG_FILE_ENV])}\n`)
      return 0
    case 'whitelist':
      io.stdout(json ? formatWhitelistJson(config) : formatWhitelistText(config))
      return 0
    case 'start':
      return start(config, io)
    default:
      return assertNever(command)
  }
}

function parseCliArgs(argv: readonly string[]): {
  command: Command | undefined
  config: string | undefined
  json: boolean
  help: boolean
} {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  })
  const [command, ...rest] = positionals
  if (command !== undefined && !isCommand(command)) throw new Error(`unknown command '${command}'`)
  if (rest.length > 0) throw new Error(`unexpected argument '${rest[0]}'`)
  return { command, config: values.config, json: values.json, help: values.help }
}

/** One line that names the file and the field. */
export function describeConfigError(err: ConfigError): string {
  const where = err.file !== undefined ? ` in ${err.file}` : ''
  const what = err.code === 'invalid' ? 'invalid configuration' : 'configuration error'
  return `${what}${where}: ${err.message}`
}

function summary(config: ServerConfig, file: string | undefined): string {
  const source = file ? file : 'environment'
  const { proxy, admin } = config
  const parts = [
    proxy.enabled
      ? `proxy ${proxy.publicAddress} (region ${proxy.region}): udp ${proxy.ports.udp.join(',')}, tcp ${proxy.ports.tcp}`
      : 'proxy disabled',
    `admin ${admin.host}:${admin.port}`,
  ]
  return `${source}: ${parts.join('; ')}`
}

async function start(config: ServerConfig, io: CliIo): Promise<number> {
  const logger = createLogger(config.log.level, { service: NAME, region: config.proxy.region })
  if (!config.proxy.enabled) {
    io.stderr(`${NAME}: nothing to start: proxy.enabled is false (the conference server is not built yet)\n`)
    return 2
  }
  // Loaded here, not at the top: check-config and whitelist need none of the proxy's code.
  const { ProxyServer } = await import('../proxy/server')
  const metrics = new ProxyMetrics({ defaultLabels: { region: config.proxy.region } })

  let proxy: Awaited<ReturnType<typeof ProxyServer.start>>
  try {
    proxy = await ProxyServer.start(config, { logger: logger.child({ component: 'proxy' }), metrics })
  } catch (err) {
    logger.fatal({ err }, 'proxy failed to start')
    return 1
  }
  let admin: AdminServer
  try {
    admin = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      registry: metrics.registry,
      health: () => proxy.health(),
    })
  } catch (err) {
    logger.fatal({ err }, 'admin listener failed to start')
    await proxy.close()
    return 1
  }
  logger.info(
    {
      publicAddress: config.proxy.publicAddress,
      ports: proxy.addresses(),
      tlsFingerprint: proxy.tlsFingerprint,
      admin: `${config.admin.host}:${admin.port}`,
    },
    'started',
  )
  return waitForSignals(io, logger, async () => {
    await proxy.drain()
    await admin.close()
  })
}

/** First SIGTERM/SIGINT: run `drain`, resolve 0 (1 if it fails). Second: exit at once. */
function waitForSignals(io: CliIo, logger: Logger, drain: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let draining = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (draining) {
        logger.warn({ signal }, 'second signal: exiting without waiting for the drain')
        logger.flush()
        io.exit(1)
        return
      }
      draining = true
      logger.info({ signal }, 'draining; send the signal again to exit at once')
      drain().then(
        () => {
          logger.info('stopped')
          finish(0)
        },
        (err: unknown) => {
          logger.error({ err }, 'drain failed')
          finish(1)
        },
      )
    }
    const finish = (code: number): void => {
      io.signals.off('SIGTERM', onSignal)
      io.signals.off('SIGINT', onSignal)
      logger.flush()
      resolve(code)
    }
    io.signals.on('SIGTERM', onSignal)
    io.signals.on('SIGINT', onSignal)
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
