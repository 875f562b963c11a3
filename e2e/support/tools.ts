import { accessSync, constants } from 'node:fs'
import { createServer } from 'node:net'
import { createSocket } from 'node:dgram'
import { delimiter, join } from 'node:path'

/** System tools the interop suites drive. Missing ones fail the test: a skipped interop test proves nothing. */
export type SystemTool =
  'turnserver' | 'turnutils_uclient' | 'turnutils_peer' | 'chromium' | 'ffmpeg' | 'tinyproxy' | 'redis-server'

export const INSTALL_LINE =
  'apt-get install -y chromium coturn nftables iproute2 ffmpeg tinyproxy redis-server g++ make python3'

export class MissingToolError extends Error {
  readonly code = 'missing_tool'
  constructor(readonly tool: string) {
    super(`${tool} is not installed (not found on PATH). Install the interop tools with: ${INSTALL_LINE}`)
    this.name = 'MissingToolError'
  }
}

const fixedPaths: Partial<Record<SystemTool, string>> = {
  chromium: '/usr/bin/chromium',
  // Debian puts it in /usr/bin, but a PATH without it is common under sudo.
  tinyproxy: '/usr/bin/tinyproxy',
  // The cluster tests' Redis (e2e/support/redisServer.ts).
  'redis-server': '/usr/bin/redis-server',
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch (err) {
    if (err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'EACCES'))
      return false
    throw err
  }
}

/** Absolute path of a system tool; throws MissingToolError (naming the apt-get line) when absent. */
export function requireTool(name: SystemTool): string {
  const fixed = fixedPaths[name]
  if (fixed !== undefined && isExecutable(fixed)) return fixed
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  throw new MissingToolError(name)
}

export type PortKind = 'udp' | 'tcp'

function bindUdp(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', (err) => {
      socket.close()
      reject(err)
    })
    socket.bind(port, host, () => {
      const bound = socket.address().port
      socket.close(() => resolve(bound))
    })
  })
}

function bindTcp(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(bound))
    })
  })
}

async function isFree(port: number, kind: PortKind, host: string): Promise<boolean> {
  try {
    await (kind === 'udp' ? bindUdp(port, host) : bindTcp(port, host))
    return true
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'EADDRINUSE') return false
    throw err
  }
}

/** A port the kernel just handed out for `kind` on 127.0.0.1 (bind port 0, then close). */
export function freePort(kind: PortKind, host = '127.0.0.1'): Promise<number> {
  return kind === 'udp' ? bindUdp(0, host) : bindTcp(0, host)
}

/**
 * A port free for every listed kind at once, e.g. ['udp', 'tcp'] for a TURN listener (coturn binds both on
 * each listening port), optionally with `span` consecutive ports all free (turnutils_peer takes p and p+1).
 */
export async function freePortFor(kinds: readonly PortKind[], span = 1, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort(kinds[0] ?? 'udp', host)
    if (base + span - 1 > 65535) continue
    let ok = true
    for (let offset = 0; offset < span && ok; offset++) {
      for (const kind of kinds) {
        if (!(await isFree(base + offset, kind, host))) {
          ok = false
          break
        }
      }
    }
    if (ok) return base
  }
  throw new Error(`no free ${kinds.join('+')} port block of ${span} on ${host} after 50 attempts`)
}

/** Distinct ports, each free for all `kinds`, spanning `span` ports each; no two blocks overlap. */
export async function freePorts(
  count: number,
  kinds: readonly PortKind[],
  span = 1,
  host = '127.0.0.1',
): Promise<number[]> {
  const taken = new Set<number>()
  const result: number[] = []
  for (let attempt = 0; result.length < count; attempt++) {
    if (attempt > count * 20) throw new Error(`could not find ${count} distinct free port blocks on ${host}`)
    const port = await freePortFor(kinds, span, host)
    let overlaps = false
    for (let offset = 0; offset < span; offset++) if (taken.has(port + offset)) overlaps = true
    if (overlaps) continue
    for (let offset = 0; offset < span; offset++) taken.add(port + offset)
    result.push(port)
  }
  return result
}

/** Resolves when `check` returns true; rejects with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(20)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
