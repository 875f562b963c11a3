import { createInterface } from 'node:readline'
import { createAppLogger } from '../../src/app/checks/logs'
import { loadPolicy } from '../../src/app/settings/policy'
import type { Region } from '../../src/shared/engine'
import { startWebHost } from '../../src/webhost/server'

/**
 * The browser host as its own process, for tests that must run it somewhere else than the test process
 * (the firewall lab's `lan` namespace: `lab.spawnNode('lan', this file, [JSON])`). Options come as one JSON
 * argument; the host logs to `<logDir>/pinhole.log` (the app's rotating file, which the diagnostics export
 * includes), prints one JSON line `{"url", "localStack"}` when it listens, and closes when stdin ends.
 */

export interface WebHostProcessOptions {
  dataDir: string
  rendererDir: string
  logDir: string
  regions?: Region[]
  /** A policy file to load (PINHOLE_POLICY_FILE's job in `npm run dev:web`). */
  policyFile?: string
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as WebHostProcessOptions
  const log = createAppLogger({ dir: options.logDir, level: 'debug' })
  const host = await startWebHost({
    dataDir: options.dataDir,
    rendererDir: options.rendererDir,
    logger: log.logger,
    diagnostics: { logFiles: () => log.file.files() },
    ...(options.regions ? { regions: options.regions } : {}),
    ...(options.policyFile ? { policy: loadPolicy({ path: options.policyFile }) } : {}),
  })
  process.stdout.write(`${JSON.stringify({ url: host.url, localStack: host.localStack ?? null })}\n`)
  const stop = async (): Promise<void> => {
    await host.close()
    log.close()
    process.exit(0)
  }
  createInterface({ input: process.stdin }).on('close', () => void stop())
}

main().catch((error: unknown) => {
  process.stderr.write(
    `web host process: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exit(1)
})
