/**
 * One proxy worker process (forked by workers.ts): a full ProxyServer listening with
 * SO_REUSEPORT next to its siblings, reporting counters and health to the primary.
 */
import type { LogLevel } from '../../platform/logger'
import { createLogger } from '../../platform/logger'
import { ProxyMetrics } from '../metrics'
import { ProxyServer } from '../proxyServer'
import { errorMessage } from '../../platform/process'
import { REPORT_INTERVAL_MS, type FromWorker, type ToWorker } from './workerProtocol'

function send(message: FromWorker): void {
  process.send?.(message)
}

let server: ProxyServer | undefined

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start':
      void start(message)
      break
    case 'drain':
      void (server?.drain(message.budgetMs) ?? Promise.resolve()).finally(() => process.exit(0))
      break
  }
})
// The primary went away: nothing left to report to.
process.on('disconnect', () => {
  void (server?.close() ?? Promise.resolve()).finally(() => process.exit(0))
})

async function start(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const logger = createLogger(message.logLevel as LogLevel, { component: 'proxy', worker: message.id })
  const metrics = new ProxyMetrics({ defaultMetrics: false })
  try {
    server = await ProxyServer.start(
      message.config,
      { logger, metrics },
      { reusePort: true, cert: message.cert },
    )
  } catch (err) {
    send({ type: 'failed', message: errorMessage(err) })
    process.exit(1)
  }
  const running = server
  send({ type: 'ready', ...running.addresses() })
  const report = (): void => send({ type: 'report', snapshot: metrics.snapshot(), health: running.health() })
  report()
  setInterval(report, REPORT_INTERVAL_MS).unref()
}
