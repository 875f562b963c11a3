import { fork } from 'node:child_process'
import { once } from 'node:events'
import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { parseConfig } from './config'
import { rtcPortSlice, SFU_WORKER_ENV, sfuWorkerCount, workerIssues, workerOverrides } from './sfuWorkers'

describe('sfu.workers: what each worker gets', () => {
  it('splits rtcPortRange into equal, disjoint slices inside the range', () => {
    const range: [number, number] = [50000, 50099]
    const slices = [0, 1, 2].map((i) => rtcPortSlice(range, i, 3))
    expect(slices).toEqual([
      [50000, 50032],
      [50033, 50065],
      [50066, 50098],
    ])
    expect(rtcPortSlice([40000, 40003], 1, 2)).toEqual([40002, 40003])
  })

  it('each worker: port + i (0 stays 0), its slice, one worker, no proxy, an OS-chosen loopback admin port, its own node id', () => {
    const config = {
      sfu: { port: 7880, rtcPortRange: [50000, 50099] as const, drainTimeoutMs: 30_000 },
      proxy: {},
      cluster: { nodeId: 'host-a' },
    }
    expect(workerOverrides(config, 1, 2)).toEqual({
      [SFU_WORKER_ENV]: '2',
      PINHOLE__sfu__workers: '1',
      PINHOLE__sfu__port: '7881',
      PINHOLE__sfu__rtcPortRange: '[50050,50099]',
      PINHOLE__admin__host: '127.0.0.1',
      PINHOLE__admin__port: '0',
      PINHOLE__proxy__enabled: 'false',
      PINHOLE__cluster__nodeId: '"host-a-2"',
    })
    const bare = workerOverrides({ sfu: { port: 0, drainTimeoutMs: 1000 } }, 0, 4)
    expect(bare).toEqual({
      [SFU_WORKER_ENV]: '1',
      PINHOLE__sfu__workers: '1',
      PINHOLE__sfu__port: '0',
      PINHOLE__admin__host: '127.0.0.1',
      PINHOLE__admin__port: '0',
    })
  })

  it('defaults to one per core with a cluster, 1 without; more than one needs a cluster, a port and two media ports each', () => {
    const sfu = { enabled: true, port: 7880 }
    expect(sfuWorkerCount({ sfu })).toBe(1)
    expect(sfuWorkerCount({ sfu, cluster: {} })).toBe(availableParallelism())
    expect(workerIssues({ sfu: { ...sfu, workers: 2 } })).toEqual([
      { path: ['sfu', 'workers'], message: expect.stringMatching(/^expected 1 without a cluster section/) },
    ])
    expect(workerIssues({ sfu: { ...sfu, workers: 2 }, cluster: {} })).toEqual([])
    expect(workerIssues({ sfu: { ...sfu, workers: 1 } })).toEqual([])
    const tight = { ...sfu, port: 65535, workers: 3, rtcPortRange: [50000, 50004] as const }
    expect(workerIssues({ sfu: tight, cluster: {} }).map((i) => i.path.join('.'))).toEqual([
      'sfu.port',
      'sfu.rtcPortRange',
    ])
    expect(workerIssues({ sfu: { ...tight, enabled: false }, cluster: {} })).toEqual([])
  })

  it('the config refuses a worker port that is another listener (sfu.port + 1 = admin.port)', () => {
    const config = {
      apps: [{ appKey: 'a', secret: 'a-secret-0123456789' }],
      sfu: { enabled: true, port: 7880, workers: 2 },
      cluster: { redis: 'redis://127.0.0.1:6379' },
      admin: { port: 7881 },
    }
    expect(() => parseConfig(config)).toThrow(/admin\.port: TCP port 7881 on 127\.0\.0\.1 is also sfu\.port/)
    expect(parseConfig({ ...config, admin: { port: 7882 } }).sfu.workers).toBe(2)
  })
})

describe('a worker whose parent went away', () => {
  it('says it started without crashing on the closed IPC channel, and is asked to drain', async () => {
    // A real child process with IPC: the parent disconnects first, then the worker reports it is up.
    const script = `
      const { parentLink } = await import(${JSON.stringify(new URL('./sfuWorkers.ts', import.meta.url).pathname)})
      const link = parentLink(process.env)
      let drained = false
      link.requests.on('drain', () => (drained = true))
      await new Promise((resolve) => process.once('disconnect', resolve))
      link.started('SIGTERM', 1234)
      await new Promise((resolve) => setTimeout(resolve, 200))
      process.stdout.write(drained ? 'drained' : 'not drained')
    `
    const child = fork('--input-type=module', ['-e', script], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, [SFU_WORKER_ENV]: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => (out += String(d)))
    child.stderr?.on('data', (d: Buffer) => (err += String(d)))
    await once(child, 'spawn')
    child.disconnect()
    const [code] = (await once(child, 'exit')) as [number | null]
    expect({ code, out, err: err.includes('ERR_IPC_CHANNEL_CLOSED') }).toEqual({
      code: 0,
      out: 'drained',
      err: false,
    })
  }, 30_000)
})
