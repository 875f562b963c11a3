import { randomBytes } from 'node:crypto'
import { linkSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { type EngineLogger, probeTls, silentLogger } from '../../engine'
import { RegionSchema } from '../../shared/engine'
import { localStackOf, startLocalStack, type LocalStack, type LocalStackInfo } from './localStack'

/**
 * How a second instance (its own profile) finds the first one's embedded stack, so two windows on one
 * computer meet in one conference server (docs/app.md "Discovery").
 *
 * The owner publishes `embedded-stack.json` in a per-user run directory: `$PINHOLE_RUN_DIR`, else
 * `$XDG_RUNTIME_DIR/pinhole` (tmpfs, the user's own), else `<tmpdir>/pinhole-<uid>`. The directory must be a
 * real directory owned by this user with mode 0700 (anything else is refused, not repaired: another user may
 * have planted it), the file is 0600, because it holds the stack's per-run app secret. Publication is
 * atomic and exclusive (`link` of a complete temporary file: fails if a file is there), so two instances
 * starting together end with one stack: the loser closes its own and uses the winner's. A file whose process
 * is gone or whose proxy does not answer with the pinned certificate is stale and replaced. The owner
 * removes the file when it stops; instances using its stack lose their calls then (documented limit).
 * Within one process, `sharedLocalStack` (below) gives every core of a host the same stack.
 */

export const DISCOVERY_FILE = 'embedded-stack.json'
export const RUN_DIR_ENV = 'PINHOLE_RUN_DIR'

const InfoSchema = z.object({
  version: z.literal(1),
  pid: z.int().positive(),
  nonce: z.string().min(1),
  appKey: z.string().min(1),
  secret: z.string().min(16),
  region: RegionSchema,
  sfuSignalUrl: z.string().startsWith('ws://127.0.0.1:'),
  startedAt: z.string(),
})

export function defaultRunDir(env: Record<string, string | undefined> = process.env): string {
  const explicit = env[RUN_DIR_ENV]
  if (explicit) return explicit
  const runtime = env['XDG_RUNTIME_DIR']
  if (runtime) return join(runtime, 'pinhole')
  return join(tmpdir(), `pinhole-${userInfo().uid}`)
}

/** Creates the directory 0700 if missing; refuses one that is a symlink, not ours, or open to others. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const stat = lstatSync(dir)
  if (!stat.isDirectory()) throw new Error(`${dir} is not a directory (a symlink?): refusing to use it`)
  const uid = process.getuid?.()
  if (uid !== undefined && stat.uid !== uid) throw new Error(`${dir} belongs to another user: refusing it`)
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new Error(`${dir} is open to other users (mode ${(stat.mode & 0o777).toString(8)}): refusing it`)
  }
}

/** The published info, or undefined when there is none or it does not parse. */
export function readDiscovery(dir: string): LocalStackInfo | undefined {
  let text: string
  try {
    text = readFileSync(join(dir, DISCOVERY_FILE), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const parsed = InfoSchema.safeParse(JSON.parse(text))
    return parsed.success ? (parsed.data as LocalStackInfo) : undefined
  } catch {
    return undefined // not JSON: a torn or foreign file, treated as stale
  }
}

/** Writes `info` as the discovery file unless one is already there. True when published. */
export function publishDiscovery(dir: string, info: LocalStackInfo): boolean {
  const file = join(dir, DISCOVERY_FILE)
  const temp = join(dir, `.${DISCOVERY_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`)
  writeFileSync(temp, JSON.stringify(info, null, 2), { mode: 0o600, flag: 'wx' })
  try {
    linkSync(temp, file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkSync(temp)
  }
}

/** Removes the discovery file if it is still this publication (same nonce). */
export function withdrawDiscovery(dir: string, info: LocalStackInfo): void {
  const current = readDiscovery(dir)
  if (current?.nonce !== info.nonce) return
  try {
    unlinkSync(join(dir, DISCOVERY_FILE))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The owner process lives and its proxy answers TLS with the pinned certificate. */
export async function stackAnswers(info: LocalStackInfo, timeoutMs = 1500): Promise<boolean> {
  if (!processAlive(info.pid)) return false
  const check = await probeTls(info.region, { tlsTimeoutMs: timeoutMs })
  return check.status === 'reachable'
}

export interface AcquireOptions {
  runDir?: string
  start?: () => Promise<LocalStack>
  /** Liveness check of a published stack (tests inject). */
  answers?: (info: LocalStackInfo) => Promise<boolean>
  logger?: EngineLogger
}

/** The stack another instance published, or a new one of ours (published for the next instance). */
export async function acquireLocalStack(options: AcquireOptions = {}): Promise<LocalStack> {
  const dir = options.runDir ?? defaultRunDir()
  const start = options.start ?? (() => startLocalStack())
  const answers = options.answers ?? ((info) => stackAnswers(info))
  const logger = options.logger ?? silentLogger
  try {
    ensurePrivateDir(dir)
  } catch (error) {
    // No safe place to publish: this instance still gets a stack, other instances just will not find it.
    logger.warn({ err: error, dir }, 'embedded stack not shared: the run directory cannot be used')
    return start()
  }
  for (let attempt = 0; attempt < 4; attempt++) {
    const found = readDiscovery(dir)
    if (found && (await answers(found))) {
      logger.info(
        { pid: found.pid, region: found.region.ports },
        'using the embedded stack of another instance',
      )
      return localStackOf(found)
    }
    if (found) withdrawDiscovery(dir, found)
    else removeUnparsable(dir)
    const own = await start()
    if (publishDiscovery(dir, own.info)) {
      logger.info({ file: join(dir, DISCOVERY_FILE) }, 'embedded stack published for other instances')
      return localStackOf(own.info, async () => {
        withdrawDiscovery(dir, own.info)
        await own.close()
      })
    }
    // Another instance published first: use theirs (next round), stop ours.
    await own.close()
  }
  throw new Error(`could not publish or use the embedded stack in ${dir}`)
}

/** A discovery file that does not parse (foreign) is in the way of publishing: remove it. */
function removeUnparsable(dir: string): void {
  // Read again: another instance may have published a good file since the caller looked.
  if (readDiscovery(dir) !== undefined) return
  try {
    unlinkSync(join(dir, DISCOVERY_FILE))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/**
 * One local stack for every core of a host process: acquired on first use, closed by the host. A stack
 * found by discovery that no longer answers (its instance quit) is dropped and acquired again.
 */
export interface SharedLocalStack {
  get(): Promise<LocalStack>
  close(): Promise<void>
}

export function sharedLocalStack(
  acquire: () => Promise<LocalStack> = () => acquireLocalStack(),
  answers: (info: LocalStackInfo) => Promise<boolean> = stackAnswers,
): SharedLocalStack {
  let pending: Promise<LocalStack> | undefined
  const current = (): Promise<LocalStack> =>
    (pending ??= acquire().catch((error: unknown) => {
      pending = undefined // the next core tries again
      throw error
    }))
  return {
    async get() {
      const stack = await current()
      if (stack.owned || (await answers(stack.info))) return stack
      if (pending !== undefined && (await pending) === stack) pending = undefined
      return current()
    },
    async close() {
      const last = pending
      pending = undefined
      if (last) await (await last.catch(() => undefined))?.close()
    },
  }
}
