import { createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { EngineLogger } from '../../src/engine'
import { createLogger } from '../../src/platform/logger'
import type { Region } from '../../src/shared/engine'
import { startWebHost } from '../../src/webhost/server'

/**
 * The browser host for bench:network, run inside the lab's `lan` namespace (`lab.spawnNode`), so the engines
 * of both pages reach the proxy through the router and its emulated link. Options as one JSON argument;
 * prints `{"url"}` when it listens and closes when stdin ends. The engines report rtcStats every 500 ms
 * (instead of 2 s) so the `step` profile's adaptation times have a finer grain. With `logFile` (the bench's
 * BENCH_HOST_LOG) the engines' log goes there at debug level, each join's steps (`joinTimeline`) included:
 * what a join that never connected did last.
 */

interface Options {
  dataDir: string
  rendererDir: string
  regions: Region[]
  logFile?: string
}

function fileLogger(path: string): EngineLogger {
  return createLogger('debug', { service: 'bench-host' }, createWriteStream(path, { flags: 'a' }))
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as Options
  const logger = options.logFile === undefined ? undefined : fileLogger(options.logFile)
  const host = await startWebHost({
    dataDir: options.dataDir,
    rendererDir: options.rendererDir,
    regions: options.regions,
    ...(logger ? { logger } : {}),
    engine: {
      call: { statsIntervalMs: 500 },
      ...(logger ? { joinTimeline: (step, elapsedMs) => logger.info({ step, elapsedMs }, 'join step') } : {}),
    },
  })
  process.stdout.write(`${JSON.stringify({ url: host.url })}\n`)
  createInterface({ input: process.stdin }).on('close', () => {
    void host.close().then(() => process.exit(0))
  })
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench host: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exit(1)
})
