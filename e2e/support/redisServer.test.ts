import { afterAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { answersPing, startRedis } from './redisServer'
import type { RedisServer } from './redisServer'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('startRedis', () => {
  let redis: RedisServer | undefined
  afterAll(async () => {
    await redis?.stop()
  })

  it('answers on a loopback port, restarts empty on the same port, and stops by PID', async () => {
    redis = await startRedis()
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
    await client.connect()
    await client.set('pinhole:test', 'kept?')
    expect(await client.get('pinhole:test')).toBe('kept?')
    client.disconnect()

    const firstPid = redis.pid
    await redis.restart()
    expect(alive(firstPid)).toBe(false)
    expect(redis.pid).not.toBe(firstPid)
    expect(await answersPing(redis.host, redis.port)).toBe(true)
    // No persistence: the restarted server has lost every key, like a Redis that lost its memory.
    const again = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
    await again.connect()
    expect(await again.get('pinhole:test')).toBeNull()
    again.disconnect()

    const pid = redis.pid
    await redis.stop()
    expect(alive(pid)).toBe(false)
    expect(await answersPing(redis.host, redis.port)).toBe(false)
  })

  it('never takes another Redis already on the port for its own (parallel test files)', async () => {
    const first = await startRedis()
    try {
      // Before the process_id check this "started": the first server's PONG answered for it.
      await expect(startRedis({ port: first.port })).rejects.toThrow(`port ${first.port} is taken`)
    } finally {
      await first.stop()
    }
  })
})
