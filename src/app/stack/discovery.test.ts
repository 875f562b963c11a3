import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import {
  DISCOVERY_FILE,
  RUN_DIR_ENV,
  acquireLocalStack,
  defaultRunDir,
  ensurePrivateDir,
  publishDiscovery,
  readDiscovery,
  withdrawDiscovery,
} from './discovery'
import { localStackOf, type LocalStack, type LocalStackInfo } from './localStack'

const root = mkdtempSync(join(tmpdir(), 'pinhole-discovery-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = (): string => join(root, `run-${n++}`)

function info(nonce: string, tcp = 40_000): LocalStackInfo {
  return {
    version: 1,
    pid: process.pid,
    nonce,
    appKey: 'pinhole-local',
    secret: 'a-secret-of-enough-length',
    region: {
      id: 'local',
      name: 'This computer',
      proxyHost: '127.0.0.1',
      ports: { udp: [40_001, 40_002], tcp },
      tlsFingerprintSha256: Array.from({ length: 32 }, () => 'AB').join(':'),
    },
    sfuSignalUrl: 'ws://127.0.0.1:40003/v1/signal',
    startedAt: new Date(0).toISOString(),
  }
}

function fakeStarter() {
  const started: LocalStack[] = []
  const closed: string[] = []
  const start = vi.fn(async () => {
    const stack = localStackOf(info(`own-${started.length}`), async () => void closed.push(stack.info.nonce))
    started.push(stack)
    return stack
  })
  return { start, started, closed }
}

describe('the run directory', () => {
  it.each([
    [{ [RUN_DIR_ENV]: '/x/run' }, '/x/run'],
    [{ XDG_RUNTIME_DIR: '/run/user/7' }, '/run/user/7/pinhole'],
  ])('%j → %s', (env, dir) => {
    expect(defaultRunDir(env)).toBe(dir)
  })

  it('is created 0700', () => {
    const dir = freshDir()
    ensurePrivateDir(dir)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
  })

  it('refuses a directory open to others, and a symlink', () => {
    const open = freshDir()
    mkdirSync(open, { mode: 0o755 })
    chmodSync(open, 0o755)
    expect(() => ensurePrivateDir(open)).toThrow(/open to other users/)
    const target = freshDir()
    mkdirSync(target, { mode: 0o700 })
    const link = freshDir()
    symlinkSync(target, link)
    expect(() => ensurePrivateDir(link)).toThrow(/not a directory/)
  })
})

describe('the discovery file', () => {
  it('is published once (exclusive), private, read back, and withdrawn only by its publisher', () => {
    const dir = freshDir()
    ensurePrivateDir(dir)
    expect(publishDiscovery(dir, info('first'))).toBe(true)
    expect(publishDiscovery(dir, info('second'))).toBe(false)
    expect(statSync(join(dir, DISCOVERY_FILE)).mode & 0o077).toBe(0)
    expect(readDiscovery(dir)?.nonce).toBe('first')
    withdrawDiscovery(dir, info('second'))
    expect(readDiscovery(dir)?.nonce).toBe('first')
    withdrawDiscovery(dir, info('first'))
    expect(readDiscovery(dir)).toBeUndefined()
  })

  it('a file that does not parse reads as none', () => {
    const dir = freshDir()
    ensurePrivateDir(dir)
    writeFileSync(join(dir, DISCOVERY_FILE), '{"version": 1')
    expect(readDiscovery(dir)).toBeUndefined()
  })
})

describe('acquireLocalStack', () => {
  it('the first instance starts and publishes; the second uses it; the first removes the file on close', async () => {
    const runDir = freshDir()
    const { start, closed } = fakeStarter()
    const first = await acquireLocalStack({ runDir, start, answers: async () => true })
    const second = await acquireLocalStack({ runDir, start, answers: async () => true })
    expect(start).toHaveBeenCalledTimes(1)
    expect(first.owned).toBe(true)
    expect(second.owned).toBe(false)
    expect(second.info).toEqual(first.info)
    await second.close()
    expect(closed).toEqual([])
    await first.close()
    expect(closed).toEqual(['own-0'])
    expect(existsSync(join(runDir, DISCOVERY_FILE))).toBe(false)
  })

  it('a run directory it cannot trust: a stack of its own, not published', async () => {
    const runDir = freshDir()
    mkdirSync(runDir, { mode: 0o777 })
    chmodSync(runDir, 0o777)
    const { start } = fakeStarter()
    const stack = await acquireLocalStack({ runDir, start, answers: async () => true })
    expect(stack.owned).toBe(true)
    expect(existsSync(join(runDir, DISCOVERY_FILE))).toBe(false)
    await stack.close()
  })

  it('a stale file (the stack does not answer) is replaced', async () => {
    const runDir = freshDir()
    ensurePrivateDir(runDir)
    publishDiscovery(runDir, info('stale'))
    const { start } = fakeStarter()
    const stack = await acquireLocalStack({ runDir, start, answers: async (i) => i.nonce !== 'stale' })
    expect(stack.owned).toBe(true)
    expect(readDiscovery(runDir)?.nonce).toBe('own-0')
    await stack.close()
  })

  it('losing the race to publish: closes its own stack and uses the winner’s', async () => {
    const runDir = freshDir()
    const { started, closed } = fakeStarter()
    // Another instance publishes while this one is starting its stack.
    const start = async (): Promise<LocalStack> => {
      publishDiscovery(runDir, info('winner'))
      const stack = localStackOf(info('loser'), async () => void closed.push('loser'))
      started.push(stack)
      return stack
    }
    const stack = await acquireLocalStack({ runDir, start, answers: async () => true })
    expect(stack.info.nonce).toBe('winner')
    expect(stack.owned).toBe(false)
    expect(closed).toEqual(['loser'])
  })
})
