import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { defaultRunDir, loadPolicy, regionsFromEnv, RotatingFile } from '../app'
import { createLogger, type LogLevel } from '../platform/logger'
import { startWebHost, type WebHost, type WebHostOptions } from './server'

/**
 * `npm run dev:web`: the browser host for UI work and tests without Electron (docs/app.md). Serves the
 * built renderer on 127.0.0.1 and prints the URL to open (it carries this run's key). The embedded stack
 * is shared by discovery, so Electron instances on this computer meet the browser pages in one call.
 *
 *   PINHOLE_WEB_PORT   port (default 5780; a free one if taken)
 *   PINHOLE_DATA_DIR   pages' settings (default <tmpdir>/pinhole-web)
 *   PINHOLE_LOG_DIR    the log file "Export diagnostics" includes (default <data dir>/logs); also on stdout
 *   PINHOLE_REGIONS    regions instead of the embedded stack (JSON, or a file of JSON)
 *   PINHOLE_POLICY_FILE, PINHOLE_LOG_LEVEL, PINHOLE_STACK_LOG
 */

const DEFAULT_PORT = 5780

async function main(): Promise<void> {
  const env = process.env
  const dataDir = env['PINHOLE_DATA_DIR'] ?? join(tmpdir(), 'pinhole-web')
  // Stdout for the developer, and the app's rotating file for "Export diagnostics" (as Electron has).
  const file = new RotatingFile({ dir: env['PINHOLE_LOG_DIR'] ?? join(dataDir, 'logs') })
  const streams = pino.multistream([
    { level: 'trace', stream: process.stdout },
    { level: 'trace', stream: file },
  ])
  const level = (env['PINHOLE_LOG_LEVEL'] ?? 'info') as LogLevel
  const logger = createLogger(level, { service: 'pinhole-web' }, streams)
  const regions = regionsFromEnv(env)
  const policy = loadPolicy({ allowEnvOverride: true })
  const options: WebHostOptions = {
    dataDir,
    diagnostics: { logFiles: () => file.files() },
    runDir: defaultRunDir(env),
    policy,
    logger,
    ...(regions ? { regions } : {}),
  }
  const wanted = Number(env['PINHOLE_WEB_PORT'] ?? DEFAULT_PORT)
  let host: WebHost
  try {
    host = await startWebHost({ ...options, port: wanted })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    logger.warn({ port: wanted }, 'port in use: taking a free one')
    host = await startWebHost({ ...options, port: 0 })
  }
  process.stdout.write(`\nPinhole web host: open ${host.url}\n(one browser or tab per participant)\n\n`)
  let stopping = false
  const stop = (): void => {
    if (stopping) process.exit(1)
    stopping = true
    host.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'web host did not close cleanly')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`pinhole web host: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
