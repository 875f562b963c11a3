import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { WebSocket } from 'ws'
import type { AppCore, AppCoreOptions, EngineLogger, LocalStack } from '../app'
import { attachPage } from './page'

/**
 * The browser host's connected pages: one app core each (page.ts wires it to its WebSocket), each under
 * its own profile name so two tabs keep their settings apart, all on the host's one local stack.
 */

export interface PagesOptions extends Pick<
  AppCoreOptions,
  'regions' | 'policy' | 'diagnostics' | 'networkCheck' | 'engine'
> {
  /** Settings of each page's core: `<dataDir>/pages/<profile>`. */
  dataDir: string
  logger: EngineLogger
  /** The host's shared local stack. */
  localStack: () => Promise<LocalStack>
}

export class Pages {
  private readonly cores = new Map<WebSocket, Promise<AppCore | undefined>>()
  private readonly profiles = new Set<string>()

  constructor(private readonly options: PagesOptions) {}

  get size(): number {
    return this.cores.size
  }

  /** A page connected: its core starts (the page's own close handler in page.ts closes it). */
  accept(ws: WebSocket, requestedProfile: string): void {
    this.cores.set(ws, this.open(ws, requestedProfile))
    // The host only forgets it.
    ws.once('close', () => this.cores.delete(ws))
  }

  /** Closes every page's socket and waits for their cores to close. */
  async closeAll(): Promise<void> {
    const open = [...this.cores.entries()]
    for (const [ws] of open) ws.close(1001, 'host closing')
    await Promise.allSettled(open.map(async ([, core]) => (await core)?.close()))
    this.cores.clear()
  }

  private async open(ws: WebSocket, requested: string): Promise<AppCore | undefined> {
    const { options } = this
    const profile = uniqueProfile(/^[A-Za-z0-9_-]{1,32}$/.test(requested) ? requested : 'page', this.profiles)
    this.profiles.add(profile)
    ws.once('close', () => this.profiles.delete(profile))
    try {
      const core = await attachPage(ws, {
        dataDir: join(options.dataDir, 'pages', profile),
        ...(options.regions ? { regions: options.regions } : {}),
        ...(options.policy ? { policy: options.policy } : {}),
        localStack: options.localStack,
        logger: options.logger,
        diagnostics: { versions: { app: packageVersion() }, ...options.diagnostics },
        ...(options.networkCheck ? { networkCheck: options.networkCheck } : {}),
        ...(options.engine ? { engine: options.engine } : {}),
      })
      options.logger.info({ profile }, 'page connected')
      return core
    } catch (error) {
      options.logger.error({ err: error }, 'page core failed to start')
      ws.close(1011, 'core failed to start')
      return undefined
    }
  }
}

function uniqueProfile(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`
}

function packageVersion(): string {
  try {
    const text = readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')
    return String((JSON.parse(text) as { version?: unknown }).version ?? 'development')
  } catch {
    return 'development' // not run from a checkout
  }
}
