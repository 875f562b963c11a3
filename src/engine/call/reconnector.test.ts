import { describe, expect, it } from 'vitest'
import { silentLogger } from '../defaults'
import type { ReconnectPolicy } from './reconnectPolicy'
import { EngineError, ErrorCode } from '../../shared/errors'
import { Reconnector, reconnectTimeout } from './reconnector'
import { FakeClock } from '../../../e2e/support/fakeClock'

/** 0, 100, 100, … ms, at most `max` attempts. */
const policy = (max: number): ReconnectPolicy => ({
  nextDelayMs: (attempt) => (attempt >= max ? undefined : attempt === 0 ? 0 : 100),
})

function setup(options: { fail: number; movedAt?: number[]; fatalAt?: number; max?: number }) {
  const clock = new FakeClock()
  const log: string[] = []
  let reconnecting = true
  let attempts = 0
  const closer = new AbortController()
  const reconnector = new Reconnector({
    clock,
    logger: silentLogger,
    policy: policy(options.max ?? 10),
    attemptTimeoutMs: 1000,
    closed: closer.signal,
    isReconnecting: () => reconnecting,
    reroute: (failures) => {
      log.push(`reroute ${failures} @${clock.now()}`)
      return Promise.resolve(options.movedAt?.includes(attempts) ?? false)
    },
    attempt: () => {
      const n = attempts++
      return n < options.fail ? Promise.reject(new Error(`attempt ${n}`)) : Promise.resolve()
    },
    succeeded: (attempt) => {
      reconnecting = false
      log.push(`succeeded ${attempt}`)
    },
    failed: (_error, attempt) => attempt !== options.fatalAt,
    gaveUp: (n, last) => log.push(`gave up after ${n}${last instanceof Error ? ` (${last.message})` : ''}`),
  })
  return { clock, log, run: reconnector.run(), close: () => closer.abort() }
}

describe('Reconnector', () => {
  it('reroutes before each attempt with the failures so far, on the policy delays, until one succeeds', async () => {
    const { clock, log, run } = setup({ fail: 2 })
    await clock.advance(500)
    await run
    expect(log).toEqual(['reroute 0 @0', 'reroute 1 @100', 'reroute 2 @200', 'succeeded 2'])
  })

  it('a move to another region starts the count again', async () => {
    const { clock, log, run } = setup({ fail: 3, movedAt: [2] })
    await clock.advance(500)
    await run
    expect(log).toEqual(['reroute 0 @0', 'reroute 1 @100', 'reroute 2 @200', 'reroute 1 @300', 'succeeded 3'])
  })

  it('stops when a failure ends the call, and gives up when the policy does', async () => {
    const fatal = setup({ fail: 5, fatalAt: 1 })
    await fatal.clock.advance(500)
    await fatal.run
    expect(fatal.log).toEqual(['reroute 0 @0', 'reroute 1 @100'])
    const budget = setup({ fail: 5, max: 3 })
    await budget.clock.advance(500)
    await budget.run
    // With why the last attempt failed (the call's error names it: a stopped proxy is not a lost network).
    expect(budget.log.at(-1)).toBe('gave up after 3 (attempt 2)')
  })

  it('ReconnectTimeout names why the last attempt failed', () => {
    const refused = new EngineError(
      ErrorCode.ProxyNotRunning,
      '10.99.2.2:443: connection refused (ECONNREFUSED)',
    )
    expect(reconnectTimeout(7, refused).toInfo()).toMatchObject({
      code: ErrorCode.ReconnectTimeout,
      detail: '7 attempts; the last failed with 30104 (10.99.2.2:443: connection refused (ECONNREFUSED))',
    })
    expect(reconnectTimeout(2, undefined).detail).toBe('2 attempts')
  })

  it('closing stops the loop during a wait', async () => {
    const { clock, log, run, close } = setup({ fail: 5 })
    await clock.advance(50)
    close()
    await clock.advance(500)
    await run
    expect(log).toEqual(['reroute 0 @0'])
  })
})
